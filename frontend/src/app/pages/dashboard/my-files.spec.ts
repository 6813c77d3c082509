import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import type { ComponentFixture } from '@angular/core/testing';
import { AuthService } from '../../core/auth/auth.service';
import { apiError, flushMicrotasks, setUpAuthTesting, signIn, USER } from '../../core/auth/testing';
import { BrowserDownloads } from '../../core/browser/browser-downloads';
import { storedFile } from '../../core/files/testing';
import { UploadService, WEB_SOCKET_FACTORY } from '../../core/uploads/upload.service';
import { fakeSockets, initiated, uploadedFile } from '../../core/uploads/testing';
import { backupText, MyFiles } from './my-files';

const LIST = (query = 'page=1&limit=20&sort=-createdAt') => `/api/v1/files?${query}`;
const A = storedFile();
const B = storedFile({
  id: '0b6f3c1e-3333-4333-8333-333333333333',
  name: 'holiday.jpg',
  size: 3 * 1024 ** 2,
  mimeType: 'image/jpeg',
  backup: { state: 'failed', attempts: 5, lastError: 'boom', backedUpAt: null },
});

describe('MyFiles', () => {
  let http: HttpTestingController;
  let fixture: ComponentFixture<MyFiles>;
  let el: HTMLElement;
  let save: ReturnType<typeof vi.fn<(url: string, name?: string) => void>>;
  let openInNewTab: ReturnType<typeof vi.fn<(url: string) => void>>;
  let net: ReturnType<typeof fakeSockets>;

  beforeEach(async () => {
    save = vi.fn<(url: string, name?: string) => void>();
    openInNewTab = vi.fn<(url: string) => void>();
    net = fakeSockets();
    TestBed.configureTestingModule({
      providers: [
        { provide: BrowserDownloads, useValue: { save, openInNewTab } },
        { provide: WEB_SOCKET_FACTORY, useValue: net.open },
      ],
    });
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http);
  });
  afterEach(() => http.verify());

  async function settle(): Promise<void> {
    await flushMicrotasks();
    await fixture.whenStable();
  }

  async function open(items = [A, B], total = items.length): Promise<void> {
    fixture = TestBed.createComponent(MyFiles);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
    http.expectOne(LIST()).flush({ items, total });
    await settle();
  }

  const rows = () => Array.from(el.querySelectorAll<HTMLElement>('[data-testid=file-row]'));
  const names = () => rows().map((r) => r.querySelector('[data-testid=file-name]')?.textContent);
  const button = (label: string) => {
    const found = Array.from(el.querySelectorAll<HTMLButtonElement>('button')).find(
      (b) => (b.getAttribute('aria-label') ?? b.textContent?.trim()) === label,
    );
    if (!found) throw new Error(`no button "${label}"`);
    return found;
  };

  it('lists each file with its size, date and backup state', async () => {
    await open();
    expect(names()).toEqual(['report.pdf', 'holiday.jpg']);
    const [a, b] = rows();
    expect(a!.querySelector('[data-testid=file-size]')?.textContent).toBe('1.5 KiB');
    expect(a!.querySelector('time')?.getAttribute('datetime')).toBe(A.createdAt);
    expect(a!.querySelector('[data-testid=file-backup]')?.textContent).toBe('Backed up');
    expect(b!.querySelector('[data-testid=file-size]')?.textContent).toBe('3 MiB');
    expect(b!.querySelector('[data-testid=file-backup]')?.textContent).toBe(
      'Backup failed (5 attempts)',
    );
    expect(el.querySelector('[data-testid=files-range]')?.textContent).toBe('1–2 of 2');
  });

  it('says so when there are no files, and when a search finds none', async () => {
    await open([]);
    expect(el.querySelector('[data-testid=files-empty]')?.textContent).toContain('No files yet');

    const search = el.querySelector<HTMLInputElement>('[data-testid=files-search]')!;
    search.value = 'tax';
    search.dispatchEvent(new Event('input'));
    el.querySelector('form')!.dispatchEvent(new Event('submit'));
    http.expectOne(LIST('page=1&limit=20&sort=-createdAt&q=tax')).flush({ items: [], total: 0 });
    await settle();
    expect(el.querySelector('[data-testid=files-empty]')?.textContent).toContain(
      'No files match “tax”.',
    );
  });

  it('shows a failed load as an alert, and tries again', async () => {
    fixture = TestBed.createComponent(MyFiles);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
    http.expectOne(LIST()).flush(null, { status: 503, statusText: 'Unavailable' });
    await settle();
    const alert = el.querySelector('[data-testid=files-error]');
    expect(alert?.getAttribute('role')).toBe('alert');
    expect(alert?.textContent).toContain(
      'Your files could not be loaded: The server answered 503.',
    );
    button('Try again').click();
    http.expectOne(LIST()).flush({ items: [A], total: 1 });
    await settle();
    expect(el.querySelector('[data-testid=files-error]')).toBeNull();
    expect(names()).toEqual(['report.pdf']);
  });

  it('sorts and pages through the list', async () => {
    await open([A], 45);
    expect(el.querySelector('[data-testid=files-range]')?.textContent).toBe('1–1 of 45');
    const sort = el.querySelector<HTMLSelectElement>('[data-testid=files-sort]')!;
    sort.value = sort.options[4]!.value; // Largest first
    sort.dispatchEvent(new Event('change'));
    http.expectOne(LIST('page=1&limit=20&sort=-size')).flush({ items: [B], total: 45 });
    await settle();
    expect(names()).toEqual(['holiday.jpg']);
    expect(button('Previous').disabled).toBe(true);

    button('Next').click();
    http.expectOne(LIST('page=2&limit=20&sort=-size')).flush({ items: [A], total: 45 });
    await settle();
    expect(el.querySelector('[data-testid=files-range]')?.textContent).toBe('21–21 of 45');
    button('Next').click();
    http.expectOne(LIST('page=3&limit=20&sort=-size')).flush({ items: [A], total: 45 });
    await settle();
    expect(button('Next').disabled).toBe(true);
  });

  it('reloads when an upload completes', async () => {
    await open([A]);
    TestBed.inject(UploadService).add([new File([new Uint8Array(3)], 'new.bin')]);
    http.expectOne('/api/v1/upload/initiate').flush(initiated('f9'));
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    net.sockets[0]!.receive({ type: 'ready', offset: 0 });
    net.sockets[0]!.receive({ type: 'complete', file: uploadedFile('new.bin', 3) });
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    await fixture.whenStable();
    http
      .expectOne(LIST())
      .flush({ items: [storedFile({ id: 'n', name: 'new.bin' }), A], total: 2 });
    await settle();
    expect(names()).toEqual(['new.bin', 'report.pdf']);
  });

  it('downloads and previews through tickets the browser follows itself', async () => {
    await open();
    button('Download report.pdf').click();
    const ticket = http.expectOne({ method: 'POST', url: '/api/v1/download/tickets' });
    expect(ticket.request.body).toEqual({ fileId: A.id });
    ticket.flush({ url: `/api/v1/download/stream/${A.id}?ticket=t1`, expiresAt: 'x' });
    await settle();
    expect(save).toHaveBeenCalledWith(`/api/v1/download/stream/${A.id}?ticket=t1`, 'report.pdf');

    button('Preview holiday.jpg in a new tab').click();
    const inline = http.expectOne({ method: 'POST', url: '/api/v1/download/tickets' });
    expect(inline.request.body).toEqual({ fileId: B.id, disposition: 'inline' });
    inline.flush({ url: `/api/v1/download/preview/stream/${B.id}?ticket=t2`, expiresAt: 'x' });
    await settle();
    expect(openInNewTab).toHaveBeenCalledWith(`/api/v1/download/preview/stream/${B.id}?ticket=t2`);

    button('Download report.pdf').click();
    http
      .expectOne('/api/v1/download/tickets')
      .flush(apiError('file_unavailable', 'No copy of this file can be reached right now.'), {
        status: 503,
        statusText: 'Unavailable',
      });
    await settle();
    expect(save).toHaveBeenCalledTimes(1);
    expect(el.querySelector('[data-testid=files-notice]')?.textContent).toBe(
      'Could not download “report.pdf”: No copy of this file can be reached right now.',
    );
  });

  it('offers no download for an unfinished upload, nor delete while it runs', async () => {
    await open([
      storedFile({ state: 'uploading' }),
      storedFile({ id: 'x', name: 'old.bin', state: 'expired' }),
    ]);
    const [running, expired] = rows();
    expect(running!.querySelector('[data-testid=file-state]')?.textContent).toBe('Uploading');
    expect(running!.querySelectorAll('button')).toHaveLength(0);
    expect(
      Array.from(expired!.querySelectorAll('button')).map((b) => b.textContent?.trim()),
    ).toEqual(['Delete']);
  });

  it('deletes after a confirmation, then reloads the list and the storage figures', async () => {
    await open();
    button('Delete holiday.jpg').click();
    await fixture.whenStable();
    const confirm = el.querySelector('[data-testid=delete-confirm]');
    expect(confirm?.getAttribute('role')).toBe('alertdialog');
    expect(confirm?.textContent).toContain('Delete “holiday.jpg”?');
    expect(document.activeElement?.textContent?.trim()).toBe('Delete');

    button('Keep it').click();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=delete-confirm]')).toBeNull();
    http.expectNone(`/api/v1/files/${B.id}`);

    button('Delete holiday.jpg').click();
    await fixture.whenStable();
    el.querySelector<HTMLButtonElement>('[data-testid=delete-confirm-yes]')!.click();
    const del = http.expectOne(`/api/v1/files/${B.id}`);
    expect(del.request.method).toBe('DELETE');
    del.flush(null, { status: 204, statusText: 'No Content' });
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush({ ...USER, storageUsed: 1536 });
    http.expectOne(LIST()).flush({ items: [A], total: 1 });
    await settle();
    expect(names()).toEqual(['report.pdf']);
    expect(el.querySelector('[data-testid=files-notice]')?.textContent).toBe(
      'Deleted “holiday.jpg”.',
    );
    expect(TestBed.inject(AuthService).currentUser()?.storageUsed).toBe(1536);
  });

  it('shows a refused delete', async () => {
    await open();
    button('Delete report.pdf').click();
    await fixture.whenStable();
    el.querySelector<HTMLButtonElement>('[data-testid=delete-confirm-yes]')!.click();
    http
      .expectOne(`/api/v1/files/${A.id}`)
      .flush(apiError('file_not_found', 'No such file'), { status: 404, statusText: 'Not Found' });
    await flushMicrotasks();
    http.expectOne(LIST()).flush({ items: [B], total: 1 });
    await settle();
    const notice = el.querySelector('[data-testid=files-notice]');
    expect(notice?.getAttribute('role')).toBe('alert');
    expect(notice?.textContent).toBe('Could not delete “report.pdf”: No such file');
  });

  it('opens the share dialog for one file at a time', async () => {
    await open();
    button('Share report.pdf').click();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=share-dialog] h3')?.textContent).toBe(
      'Share “report.pdf”',
    );
    expect(button('Share report.pdf').getAttribute('aria-expanded')).toBe('true');
    http.expectOne(`/api/v1/files/${A.id}/links`).flush({ items: [], total: 0 });
    await settle();
    el.querySelector<HTMLButtonElement>('[data-testid=share-close]')!.click();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=share-dialog]')).toBeNull();
  });

  it('backupText', () => {
    const b = A.backup;
    expect(backupText({ ...b, state: 'disabled' })).toBe('No backup configured');
    expect(backupText({ ...b, state: 'pending' })).toBe('Backup pending');
    expect(backupText({ ...b, state: 'running' })).toBe('Backing up…');
    expect(backupText({ ...b, state: 'failed', attempts: 0 })).toBe('Backup failed');
  });
});
