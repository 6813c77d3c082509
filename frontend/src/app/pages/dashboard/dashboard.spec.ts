import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { AuthService } from '../../core/auth/auth.service';
import { flushMicrotasks, signIn, USER, setUpAuthTesting } from '../../core/auth/testing';
import { WEB_SOCKET_FACTORY } from '../../core/uploads/upload.service';
import { storedFile } from '../../core/files/testing';
import { fakeSockets, initiated, uploadedFile } from '../../core/uploads/testing';
import { DashboardPage } from './dashboard';

const FILES = '/api/v1/files?page=1&limit=20&sort=-createdAt';

describe('DashboardPage', () => {
  let http: HttpTestingController;

  let net: ReturnType<typeof fakeSockets>;

  beforeEach(async () => {
    net = fakeSockets();
    TestBed.configureTestingModule({
      providers: [{ provide: WEB_SOCKET_FACTORY, useValue: net.open }],
    });
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http);
  });
  afterEach(() => http.verify());

  it('shows who is signed in and their storage, refreshed from the server', async () => {
    const fixture = TestBed.createComponent(DashboardPage);
    fixture.detectChanges();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('[data-testid=user-email]')?.textContent).toBe('a@example.com');
    expect(el.querySelector('[data-testid=user-role]')?.textContent).toBe('user');
    expect(el.querySelector('[data-testid=storage]')?.textContent).toBe('0 B of 10 GiB used (0%)');

    http
      .expectOne('/api/v1/auth/users/me')
      .flush({ ...USER, role: 'admin', storageUsed: 2.5 * 1024 ** 3 });
    http.expectOne(FILES).flush({ items: [], total: 0 });
    await flushMicrotasks();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=user-role]')?.textContent).toBe('admin');
    expect(el.querySelector('[data-testid=storage]')?.textContent).toBe(
      '2.5 GiB of 10 GiB used (25%)',
    );
    expect(el.querySelector('progress')?.value).toBe(2.5 * 1024 ** 3);
  });

  it('has the upload panel, and shows the new usage once an upload completes', async () => {
    const fixture = TestBed.createComponent(DashboardPage);
    await fixture.whenStable();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    http.expectOne(FILES).flush({ items: [], total: 0 });
    await flushMicrotasks();
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('[data-testid=files-empty]')).not.toBeNull();
    const input = el.querySelector<HTMLInputElement>('app-uploads-panel input[type=file]')!;
    const file = new File([new Uint8Array(2048)], 'two-k.bin');
    Object.defineProperty(input, 'files', { value: [file] });
    input.dispatchEvent(new Event('change'));

    http.expectOne('/api/v1/upload/initiate').flush(initiated('f1'));
    await flushMicrotasks();
    // The reservation counts at once.
    http.expectOne('/api/v1/auth/users/me').flush({ ...USER, storageUsed: 2048 });
    await flushMicrotasks();
    net.sockets[0]!.receive({ type: 'ready', offset: 0 });
    net.sockets[0]!.receive({ type: 'complete', file: uploadedFile('two-k.bin', 2048) });
    http.expectOne('/api/v1/auth/users/me').flush({ ...USER, storageUsed: 2048 });
    await fixture.whenStable();
    // The completed upload makes "My files" ask again, and the new file shows.
    http
      .expectOne(FILES)
      .flush({ items: [storedFile({ name: 'two-k.bin', size: 2048 })], total: 1 });
    await flushMicrotasks();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=storage]')?.textContent).toBe(
      '2 KiB of 10 GiB used (<1%)',
    );
    expect(el.querySelector('[data-testid=file-name]')?.textContent).toBe('two-k.bin');
    expect(el.querySelector('[data-testid=upload-state]')?.textContent).toBe('Complete');
  });
});
