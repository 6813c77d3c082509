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

  it('tells the links apart: created, expiry, revoked time, password and the one just made', async () => {
    http.expectOne(LINKS).flush({
      items: [
        shareLink({
          id: 'l2',
          createdAt: '2026-03-02T09:00:00.000Z',
          expiresAt: '2026-03-09T09:00:00.000Z',
          passwordRequired: true,
        }),
        shareLink({ id: 'l1', state: 'revoked', revokedAt: '2026-03-01T12:00:00.000Z' }),
        shareLink({ id: 'l0', state: 'expired', expiresAt: '2026-03-01T11:00:00.000Z' }),
      ],
      total: 3,
    });
    await settle();
    const [a, r, x] = links();
    const time = (li: HTMLElement, what: string) =>
      li.querySelector(`[data-testid=share-link-${what}]`)?.getAttribute('datetime') ?? null;
    expect(time(a!, 'created')).toBe('2026-03-02T09:00:00.000Z');
    expect(time(a!, 'expires')).toBe('2026-03-09T09:00:00.000Z');
    expect(time(a!, 'revoked')).toBeNull();
    expect(a!.textContent).toContain('Created');
    expect(a!.textContent).toContain('expires');
    expect(a!.querySelector('[data-testid=share-link-password]')?.textContent).toBe('password');
    expect(r!.querySelector('[data-testid=share-link-password]')).toBeNull();
    expect(r!.querySelector('[data-testid=share-link-state]')?.textContent).toBe('Revoked');
    expect(time(r!, 'created')).toBe('2026-03-01T10:00:00.000Z');
    expect(time(r!, 'revoked')).toBe('2026-03-01T12:00:00.000Z');
    expect(x!.querySelector('[data-testid=share-link-state]')?.textContent).toBe('Expired');
    expect(x!.textContent).toContain('expired');
    expect(el.querySelector('[data-testid=share-link-new]')).toBeNull();
  });

  async function createLink(): Promise<string> {
    http.expectOne(LINKS).flush({ items: [shareLink({ id: 'l1' })], total: 1 });
    await settle();
    el.querySelector<HTMLButtonElement>('button[type=submit]')!.click();
    const url = `http://gw.example/s/${TOKEN}`;
    http
      .expectOne({ method: 'POST', url: LINKS })
      .flush(
        { id: 'l9', token: TOKEN, url, expiresAt: '2026-03-08T10:00:00.000Z' },
        { status: 201, statusText: 'Created' },
      );
    await settle();
    http.expectOne(LINKS).flush({ items: [shareLink({ id: 'l9' }), shareLink()], total: 2 });
    await settle();
    return url;
  }
  const revokeButton = (li: HTMLElement) => li.querySelector<HTMLButtonElement>('button')!;

  it('marks the link just created in the list', async () => {
    await createLink();
    expect(links().map((l) => l.querySelector('[data-testid=share-link-new]') !== null)).toEqual([
      true,
      false,
    ]);
  });

  it('stops offering the URL of the link just created once it is revoked', async () => {
    const url = await createLink();
    expect(el.querySelector<HTMLInputElement>('[data-testid=share-url]')?.value).toBe(url);

    // Revoking an older link leaves the new one's URL in place.
    revokeButton(links()[1]!).click();
    http.expectOne(`${LINKS}/l1`).flush(null, { status: 204, statusText: 'No Content' });
    await flushMicrotasks();
    http.expectOne(LINKS).flush({
      items: [
        shareLink({ id: 'l9' }),
        shareLink({ state: 'revoked', revokedAt: '2026-03-02T10:00:00.000Z' }),
      ],
      total: 2,
    });
    await settle();
    expect(el.querySelector<HTMLInputElement>('[data-testid=share-url]')?.value).toBe(url);

    revokeButton(links()[0]!).click();
    http.expectOne(`${LINKS}/l9`).flush(null, { status: 204, statusText: 'No Content' });
    await flushMicrotasks();
    // Even if the list cannot be reloaded, the revoked URL is gone.
    http.expectOne(LINKS).flush(null, { status: 503, statusText: 'Unavailable' });
    await settle();
    expect(el.querySelector('[data-testid=share-url]')).toBeNull();
    expect(el.querySelector('[data-testid=share-copy]')).toBeNull();
    expect(el.textContent).not.toContain(url);
    expect(el.querySelector('[data-testid=share-created-revoked]')?.textContent).toContain(
      'was revoked: it no longer works',
    );

    // A new link brings a new URL box.
    el.querySelector<HTMLButtonElement>('button[type=submit]')!.click();
    const url2 = `http://gw.example/s/${'C'.repeat(43)}`;
    http
      .expectOne({ method: 'POST', url: LINKS })
      .flush(
        { id: 'l10', token: 'C'.repeat(43), url: url2, expiresAt: '2026-03-09T10:00:00.000Z' },
        { status: 201, statusText: 'Created' },
      );
    await settle();
    http.expectOne(LINKS).flush({ items: [shareLink({ id: 'l10' })], total: 1 });
    await settle();
    expect(el.querySelector<HTMLInputElement>('[data-testid=share-url]')?.value).toBe(url2);
    expect(el.querySelector('[data-testid=share-created-revoked]')).toBeNull();
  });

  it('hides the URL when the reloaded list shows the new link revoked', async () => {
    await createLink();
    revokeButton(links()[1]!).click();
    http.expectOne(`${LINKS}/l1`).flush(null, { status: 204, statusText: 'No Content' });
    await flushMicrotasks();
    // Revoked meanwhile from another tab.
    http.expectOne(LINKS).flush({
      items: [
        shareLink({ id: 'l9', state: 'revoked', revokedAt: '2026-03-02T10:00:00.000Z' }),
        shareLink({ state: 'revoked', revokedAt: '2026-03-02T10:00:00.000Z' }),
      ],
      total: 2,
    });
    await settle();
    expect(el.querySelector('[data-testid=share-url]')).toBeNull();
    expect(el.querySelector('[data-testid=share-created-revoked]')).not.toBeNull();
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
