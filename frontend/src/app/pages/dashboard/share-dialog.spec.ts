import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import type { ComponentFixture } from '@angular/core/testing';
import { AuthService } from '../../core/auth/auth.service';
import { apiError, flushMicrotasks, setUpAuthTesting, signIn } from '../../core/auth/testing';
import { storedFile } from '../../core/files/testing';
import { shareLink, TOKEN } from '../../core/links/testing';
import { ShareDialog } from './share-dialog';

const FILE = storedFile();
const LINKS = `/api/v1/files/${FILE.id}/links`;

describe('ShareDialog', () => {
  let http: HttpTestingController;
  let fixture: ComponentFixture<ShareDialog>;
  let el: HTMLElement;

  beforeEach(async () => {
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http);
    fixture = TestBed.createComponent(ShareDialog);
    fixture.componentRef.setInput('file', FILE);
    el = fixture.nativeElement as HTMLElement;
    document.body.appendChild(el);
    await fixture.whenStable();
  });
  afterEach(() => {
    el.remove();
    http.verify();
  });

  async function settle(): Promise<void> {
    await flushMicrotasks();
    await fixture.whenStable();
  }
  const links = () => Array.from(el.querySelectorAll<HTMLElement>('[data-testid=share-link]'));

  it('is a labelled dialog that starts on the expiry choice and lists the file’s links', async () => {
    const dialog = el.querySelector('[role=dialog]');
    expect(dialog?.getAttribute('aria-labelledby')).toBe('share-title');
    expect(document.activeElement?.id).toBe('share-expiry');
    http.expectOne(LINKS).flush({
      items: [
        shareLink({ passwordRequired: true }),
        shareLink({ id: 'l2', state: 'revoked', revokedAt: '2026-03-02T10:00:00.000Z' }),
      ],
      total: 2,
    });
    await settle();
    expect(links().map((l) => l.dataset['state'])).toEqual(['active', 'revoked']);
    expect(links()[0]!.textContent).toContain('password');
    expect(links()[0]!.querySelector('button')?.textContent?.trim()).toBe('Revoke');
    expect(links()[1]!.querySelector('button')).toBeNull();
  });

  it('creates a password link with the chosen expiry, shows its URL once, and copies it', async () => {
    http.expectOne(LINKS).flush({ items: [], total: 0 });
    await settle();
    expect(el.textContent).toContain('No links yet.');
    const expiry = el.querySelector<HTMLSelectElement>('#share-expiry')!;
    expiry.value = expiry.options[1]!.value; // 1 day
    expiry.dispatchEvent(new Event('change'));
    const password = el.querySelector<HTMLInputElement>('#share-password')!;
    password.value = 's3cret';
    password.dispatchEvent(new Event('input'));
    el.querySelector<HTMLButtonElement>('button[type=submit]')!.click();

    const post = http.expectOne({ method: 'POST', url: LINKS });
    expect(post.request.body).toEqual({ expiresInSeconds: 86400, password: 's3cret' });
    const url = `http://gw.example/s/${TOKEN}`;
    post.flush(
      { id: 'l9', token: TOKEN, url, expiresAt: '2026-03-02T10:00:00.000Z' },
      { status: 201, statusText: 'Created' },
    );
    await settle();
    http
      .expectOne(LINKS)
      .flush({ items: [shareLink({ id: 'l9', passwordRequired: true })], total: 1 });
    await settle();
    expect(el.querySelector<HTMLInputElement>('[data-testid=share-url]')?.value).toBe(url);
    expect(password.value).toBe('');
    expect(links()).toHaveLength(1);

    const writeText = vi.fn<(text: string) => Promise<void>>().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    el.querySelector<HTMLButtonElement>('[data-testid=share-copy]')!.click();
    await settle();
    expect(writeText).toHaveBeenCalledWith(url);
    expect(el.querySelector('[data-testid=share-created] [role=status]')?.textContent?.trim()).toBe(
      'Copied to the clipboard.',
    );

    writeText.mockRejectedValue(new Error('NotAllowedError'));
    el.querySelector<HTMLButtonElement>('[data-testid=share-copy]')!.click();
    await settle();
    expect(el.querySelector('[data-testid=share-created] [role=status]')?.textContent).toContain(
      'copy it with Ctrl+C',
    );
  });

  it('sends no password when none is given, and shows a refusal', async () => {
    http.expectOne(LINKS).flush({ items: [], total: 0 });
    await settle();
    el.querySelector<HTMLButtonElement>('button[type=submit]')!.click();
    const post = http.expectOne({ method: 'POST', url: LINKS });
    expect(post.request.body).toEqual({ expiresInSeconds: 7 * 86400 });
    post.flush(apiError('file_not_ready', 'This file has not finished uploading'), {
      status: 409,
      statusText: 'Conflict',
    });
    await settle();
    expect(el.querySelector('[role=alert]')?.textContent).toBe(
      'This file has not finished uploading',
    );
    expect(el.querySelector('[data-testid=share-created]')).toBeNull();
  });

  it('revokes a link and shows the list as the server now has it', async () => {
    http.expectOne(LINKS).flush({ items: [shareLink()], total: 1 });
    await settle();
    links()[0]!.querySelector('button')!.click();
    const del = http.expectOne(`${LINKS}/l1`);
    expect(del.request.method).toBe('DELETE');
    del.flush(null, { status: 204, statusText: 'No Content' });
    await flushMicrotasks();
    http.expectOne(LINKS).flush({
      items: [shareLink({ state: 'revoked', revokedAt: '2026-03-02T10:00:00.000Z' })],
      total: 1,
    });
    await settle();
    expect(links()[0]!.dataset['state']).toBe('revoked');
  });

  it('closes on Close and on Escape', async () => {
    http.expectOne(LINKS).flush({ items: [], total: 0 });
    await settle();
    const closed = vi.fn();
    fixture.componentInstance.closed.subscribe(closed);
    el.querySelector<HTMLButtonElement>('[data-testid=share-close]')!.click();
    el.querySelector('#share-password')!.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }),
    );
    expect(closed).toHaveBeenCalledTimes(2);
  });
});
