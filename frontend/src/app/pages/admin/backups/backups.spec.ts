import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import type { ComponentFixture } from '@angular/core/testing';
import { AuthService } from '../../../core/auth/auth.service';
import {
  apiError,
  flushMicrotasks,
  setUpAuthTesting,
  signIn,
  USER,
} from '../../../core/auth/testing';
import { backupItem } from '../../../core/backups/testing';
import { BackupsPage } from './backups';

const SUMMARY = { pending: 2, running: 1, done: 40, failed: 1, disabled: 0 };
const FAILED = backupItem();
const DONE = backupItem({
  id: '0b6f3c1e-4444-4444-8444-444444444444',
  name: 'ok.txt',
  backup: {
    ...FAILED.backup,
    state: 'done',
    attempts: 1,
    lastError: null,
    backedUpAt: '2026-03-01T11:00:00.000Z',
  },
});
const LIST = (query = 'page=1&limit=25') => `/api/v1/admin/backups?${query}`;

describe('BackupsPage', () => {
  let http: HttpTestingController;
  let fixture: ComponentFixture<BackupsPage>;
  let el: HTMLElement;

  beforeEach(async () => {
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http, { ...USER, role: 'admin' });
  });
  afterEach(() => http.verify());

  async function settle(): Promise<void> {
    await flushMicrotasks();
    await fixture.whenStable();
  }
  async function open(items = [FAILED, DONE], total = items.length): Promise<void> {
    fixture = TestBed.createComponent(BackupsPage);
    el = fixture.nativeElement as HTMLElement;
    http.expectOne('/api/v1/admin/backups/summary').flush(SUMMARY);
    http.expectOne(LIST()).flush({ items, total });
    await settle();
  }
  const rows = () => Array.from(el.querySelectorAll<HTMLElement>('[data-testid=backup-row]'));
  const text = (id: string) => el.querySelector(`[data-testid=${id}]`)?.textContent?.trim();

  it('shows the counts per state and the files with their backup details', async () => {
    await open();
    expect(text('summary-pending')).toBe('2');
    expect(text('summary-done')).toBe('40');
    expect(text('summary-failed')).toBe('1');
    expect(rows().map((r) => r.querySelector('[data-testid=backup-state]')?.textContent)).toEqual([
      'Failed',
      'Done',
    ]);
    expect(rows()[0]!.textContent).toContain('Storage Box refused the upload');
    expect(rows()[0]!.textContent).toContain('owner u1');
    expect(rows()[1]!.querySelector('time')?.getAttribute('datetime')).toBe(DONE.backup.backedUpAt);
    // Retry is offered for the failed one only.
    expect(rows()[0]!.querySelector('button')?.getAttribute('aria-label')).toBe(
      'Retry backup of video.mp4',
    );
    expect(rows()[1]!.querySelector('button')).toBeNull();
  });

  it('emphasises the Failed tile only when some backups failed', async () => {
    await open();
    const tile = (state: string) =>
      el.querySelector<HTMLElement>(`[data-testid=backup-summary] [data-state=${state}]`)!;
    expect(tile('failed').classList).toContain('alert');
    expect(tile('pending').classList).not.toContain('alert');

    rows()[0]!.querySelector('button')!.click();
    http.expectOne(`/api/v1/admin/backups/${FAILED.id}/retry`).flush({
      ...FAILED,
      backup: { ...FAILED.backup, state: 'pending', attempts: 0, lastError: null },
    });
    await flushMicrotasks();
    http.expectOne('/api/v1/admin/backups/summary').flush({ ...SUMMARY, failed: 0, pending: 3 });
    await settle();
    expect(tile('failed').classList).not.toContain('alert');
    expect(el.querySelectorAll('.count.alert')).toHaveLength(0);
  });

  it('shows a failed backup that will be tried again as Retrying, with when', async () => {
    const next = '2026-03-01T12:30:00.000Z';
    const retrying = backupItem({
      id: '0b6f3c1e-5555-4555-8555-555555555555',
      name: 'again.bin',
      backup: { ...FAILED.backup, attempts: 2, nextAttemptAt: next },
    });
    await open([retrying, FAILED]);
    const [r, f] = rows();
    expect(r!.querySelector('[data-testid=backup-state]')?.textContent).toBe('Retrying');
    const at = r!.querySelector('[data-testid=backup-retry-at]');
    expect(at?.textContent).toContain('next attempt');
    expect(at?.querySelector('time')?.getAttribute('datetime')).toBe(next);
    expect(f!.querySelector('[data-testid=backup-state]')?.textContent).toBe('Failed');
    expect(f!.querySelector('[data-testid=backup-retry-at]')).toBeNull();
  });

  it('filters by status and pages', async () => {
    await open([FAILED], 60);
    const select = el.querySelector<HTMLSelectElement>('[data-testid=backup-status]')!;
    select.value = select.options[4]!.value; // failed
    select.dispatchEvent(new Event('change'));
    http.expectOne(LIST('page=1&limit=25&status=failed')).flush({ items: [FAILED], total: 30 });
    await settle();
    expect(text('backups-range')).toBe('1–1 of 30');
    Array.from(el.querySelectorAll('button'))
      .find((b) => b.textContent?.trim() === 'Next')!
      .click();
    http.expectOne(LIST('page=2&limit=25&status=failed')).flush({ items: [], total: 30 });
    await settle();
    expect(text('backups-empty')).toBe('No files are failed.');
  });

  it('retries a failed backup and shows its new state', async () => {
    await open();
    rows()[0]!.querySelector('button')!.click();
    const retry = http.expectOne({
      method: 'POST',
      url: `/api/v1/admin/backups/${FAILED.id}/retry`,
    });
    retry.flush({
      ...FAILED,
      backup: { ...FAILED.backup, state: 'pending', attempts: 0, lastError: null },
    });
    await flushMicrotasks();
    http.expectOne('/api/v1/admin/backups/summary').flush({ ...SUMMARY, failed: 0, pending: 3 });
    await settle();
    expect(rows()[0]!.querySelector('[data-testid=backup-state]')?.textContent).toBe('Pending');
    expect(text('notice')).toBe('Backup of “video.mp4” queued again.');
    expect(text('summary-failed')).toBe('0');
  });

  it('backs up everything missing, and says why when no target is configured', async () => {
    await open();
    el.querySelector<HTMLButtonElement>('[data-testid=run-missing]')!.click();
    http
      .expectOne({ method: 'POST', url: '/api/v1/admin/backups/run-missing' })
      .flush({ queued: 3 });
    await flushMicrotasks();
    http.expectOne('/api/v1/admin/backups/summary').flush({ ...SUMMARY, pending: 5, failed: 0 });
    http.expectOne(LIST()).flush({ items: [DONE], total: 1 });
    await settle();
    expect(text('notice')).toBe('Queued 3 files for backup.');
    expect(text('summary-pending')).toBe('5');

    el.querySelector<HTMLButtonElement>('[data-testid=run-missing]')!.click();
    http
      .expectOne('/api/v1/admin/backups/run-missing')
      .flush(
        apiError('backup_not_configured', 'No backup target is configured (set BACKUP_WEBDAV_URL)'),
        {
          status: 409,
          statusText: 'Conflict',
        },
      );
    await settle();
    const notice = el.querySelector('[data-testid=notice]');
    expect(notice?.getAttribute('role')).toBe('alert');
    expect(notice?.textContent).toBe(
      'Could not start the backups: No backup target is configured (set BACKUP_WEBDAV_URL)',
    );
  });

  it('says when the list cannot be loaded', async () => {
    fixture = TestBed.createComponent(BackupsPage);
    el = fixture.nativeElement as HTMLElement;
    http.expectOne('/api/v1/admin/backups/summary').flush(SUMMARY);
    http.expectOne(LIST()).flush(null, { status: 500, statusText: 'Error' });
    await settle();
    expect(text('backups-error')).toBe(
      'The backups could not be loaded: The server answered 500. Please try again.',
    );
  });
});
