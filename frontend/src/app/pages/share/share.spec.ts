import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { RouterTestingHarness } from '@angular/router/testing';
import { apiError, flushMicrotasks, setUpAuthTesting } from '../../core/auth/testing';
import { BrowserDownloads } from '../../core/browser/browser-downloads';
import { TOKEN } from '../../core/links/testing';
import type { PublicLink } from '../../core/links/share-links.types';
import { SharePage } from './share';

const INFO = `/api/v1/links/${TOKEN}`;
const LINK: PublicLink = {
  name: 'holiday.jpg',
  size: 3 * 1024 ** 2,
  mimeType: 'image/jpeg',
  expiresAt: '2026-03-08T10:00:00.000Z',
  passwordRequired: false,
};

describe('SharePage', () => {
  let http: HttpTestingController;
  let harness: RouterTestingHarness;
  let el: HTMLElement;
  let save: ReturnType<typeof vi.fn<(url: string, name?: string) => void>>;

  async function open(
    answer: (req: ReturnType<HttpTestingController['expectOne']>) => void,
  ): Promise<void> {
    save = vi.fn<(url: string, name?: string) => void>();
    TestBed.configureTestingModule({
      providers: [{ provide: BrowserDownloads, useValue: { save } }],
    });
    http = setUpAuthTesting([{ path: 's/:token', component: SharePage }]);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl(`/s/${TOKEN}`, SharePage);
    el = harness.routeNativeElement!;
    const req = http.expectOne(INFO);
    expect(req.request.headers.has('Authorization')).toBe(false);
    answer(req);
    await settle();
  }
  async function settle(): Promise<void> {
    await flushMicrotasks();
    await harness.fixture.whenStable();
  }
  const text = (id: string) => el.querySelector(`[data-testid=${id}]`)?.textContent?.trim();
  function unlockWith(password: string): void {
    const input = el.querySelector<HTMLInputElement>('#link-password')!;
    input.value = password;
    input.dispatchEvent(new Event('input'));
    el.querySelector<HTMLButtonElement>('[data-testid=unlock-form] button[type=submit]')!.click();
  }

  afterEach(() => http.verify());

  it('shows name, size and expiry, and downloads a link without a password directly', async () => {
    await open((req) => req.flush(LINK));
    expect(text('share-name')).toBe('holiday.jpg');
    expect(text('share-size')).toBe('3 MiB');
    expect(el.querySelector('[data-testid=share-expires]')?.getAttribute('datetime')).toBe(
      LINK.expiresAt,
    );
    expect(el.querySelector('[data-testid=unlock-form]')).toBeNull();
    el.querySelector<HTMLButtonElement>('[data-testid=share-download]')!.click();
    expect(save).toHaveBeenCalledWith(`/api/v1/links/${TOKEN}/download`, 'holiday.jpg');
  });

  it('asks for the password, says when it is wrong or throttled, and downloads once unlocked', async () => {
    await open((req) => req.flush({ ...LINK, passwordRequired: true }));
    expect(el.querySelector('[data-testid=share-download]')).toBeNull();

    // Empty: not sent.
    unlockWith('');
    await settle();
    http.expectNone(`${INFO}/unlock`);
    expect(el.querySelector('.hint')?.textContent).toContain('Enter the password');

    unlockWith('guess');
    const wrong = http.expectOne({ method: 'POST', url: `${INFO}/unlock` });
    expect(wrong.request.body).toEqual({ password: 'guess' });
    wrong.flush(apiError('wrong_password', 'The password is wrong'), {
      status: 401,
      statusText: 'Unauthorized',
    });
    await settle();
    expect(text('unlock-error')).toBe('The password is wrong. Check it and try again.');
    expect(save).not.toHaveBeenCalled();

    unlockWith('guess again');
    http
      .expectOne(`${INFO}/unlock`)
      .flush(apiError('too_many_requests', 'Too many wrong passwords'), {
        status: 429,
        statusText: 'Too Many Requests',
        headers: { 'Retry-After': '60' },
      });
    await settle();
    expect(text('unlock-error')).toBe('Too many attempts — try again in 60 seconds.');

    unlockWith('right');
    const url = `/api/v1/links/${TOKEN}/download?key=abc`;
    http.expectOne(`${INFO}/unlock`).flush({ downloadUrl: url, expiresAt: 'x' });
    await settle();
    expect(save).toHaveBeenCalledWith(url, 'holiday.jpg');
    expect(el.querySelector('[data-testid=unlock-form]')).toBeNull();
    el.querySelector<HTMLButtonElement>('[data-testid=share-download]')!.click();
    expect(save).toHaveBeenLastCalledWith(url, 'holiday.jpg');
  });

  it('explains an expired, a revoked and an unknown link', async () => {
    await open((req) =>
      req.flush(apiError('link_expired', 'This link has expired'), {
        status: 410,
        statusText: 'Gone',
      }),
    );
    expect(text('share-problem')).toBe('This link has expired');
    expect(el.querySelector('[data-testid=share-download]')).toBeNull();
    http.verify();
    TestBed.resetTestingModule();

    await open((req) =>
      req.flush(apiError('link_revoked', 'This link was revoked'), {
        status: 410,
        statusText: 'Gone',
      }),
    );
    expect(text('share-problem')).toBe('This link was revoked');
    http.verify();
    TestBed.resetTestingModule();

    await open((req) =>
      req.flush(apiError('link_not_found', 'No such link'), {
        status: 404,
        statusText: 'Not Found',
      }),
    );
    expect(text('share-problem')).toBe('Link not found');
  });

  it('shows a link that expires while the password is typed', async () => {
    await open((req) => req.flush({ ...LINK, passwordRequired: true }));
    unlockWith('right');
    http.expectOne(`${INFO}/unlock`).flush(apiError('link_expired', 'This link has expired'), {
      status: 410,
      statusText: 'Gone',
    });
    await settle();
    expect(text('share-problem')).toBe('This link has expired');
  });
});
