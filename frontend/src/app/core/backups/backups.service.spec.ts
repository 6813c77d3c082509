import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { AuthService } from '../auth/auth.service';
import { setUpAuthTesting, signIn, USER } from '../auth/testing';
import { BackupsService } from './backups.service';
import { backupItem } from './testing';

describe('BackupsService', () => {
  let http: HttpTestingController;
  let api: BackupsService;

  beforeEach(async () => {
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http, { ...USER, role: 'admin' });
    api = TestBed.inject(BackupsService);
  });
  afterEach(() => http.verify());

  it('reads the summary and a page of one status (or all)', async () => {
    const summary = api.summary();
    const s = http.expectOne('/api/v1/admin/backups/summary');
    expect(s.request.headers.get('Authorization')).toBe('Bearer access-1');
    s.flush({ pending: 1, running: 0, done: 3, failed: 2, disabled: 0 });
    expect((await summary).failed).toBe(2);

    const failed = api.list({ status: 'failed', page: 2, limit: 25 });
    http
      .expectOne('/api/v1/admin/backups?page=2&limit=25&status=failed')
      .flush({ items: [backupItem()], total: 26 });
    expect((await failed).total).toBe(26);

    const all = api.list({ status: null, page: 1, limit: 25 });
    http.expectOne('/api/v1/admin/backups?page=1&limit=25').flush({ items: [], total: 0 });
    expect((await all).items).toEqual([]);
  });

  it('retries one file and runs the missing ones', async () => {
    const id = backupItem().id;
    const retried = api.retry(id);
    const r = http.expectOne({ method: 'POST', url: `/api/v1/admin/backups/${id}/retry` });
    r.flush(backupItem({ backup: { ...backupItem().backup, state: 'pending', attempts: 0 } }));
    expect((await retried).backup.state).toBe('pending');

    const run = api.runMissing();
    http
      .expectOne({ method: 'POST', url: '/api/v1/admin/backups/run-missing' })
      .flush({ queued: 4 });
    expect(await run).toEqual({ queued: 4 });
  });
});
