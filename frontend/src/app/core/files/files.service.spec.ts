import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { AuthService } from '../auth/auth.service';
import { apiError, setUpAuthTesting, signIn } from '../auth/testing';
import { apiErrorCode } from '../http/api-error';
import { FilesService } from './files.service';
import { storedFile } from './testing';

describe('FilesService', () => {
  let http: HttpTestingController;
  let api: FilesService;
  const id = storedFile().id;

  beforeEach(async () => {
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http);
    api = TestBed.inject(FilesService);
  });
  afterEach(() => http.verify());

  it('lists a page with the bearer token, sending q only when there is one', async () => {
    const all = api.list({ page: 2, limit: 20, q: '  ', sort: '-createdAt' });
    const req = http.expectOne('/api/v1/files?page=2&limit=20&sort=-createdAt');
    expect(req.request.method).toBe('GET');
    expect(req.request.headers.get('Authorization')).toBe('Bearer access-1');
    req.flush({ items: [storedFile()], total: 21 });
    expect(await all).toEqual({ items: [storedFile()], total: 21 });

    const found = api.list({ page: 1, limit: 5, q: ' holiday & co ', sort: 'name' });
    const search = http.expectOne((r) => r.url === '/api/v1/files');
    expect(search.request.params.get('q')).toBe('holiday & co');
    expect(search.request.params.get('sort')).toBe('name');
    expect(search.request.urlWithParams).toContain('q=holiday%20%26%20co');
    search.flush({ items: [], total: 0 });
    expect((await found).total).toBe(0);
  });

  it('cancels an unfinished upload with the bearer token and returns the file', async () => {
    const done = api.cancelUpload(id);
    const req = http.expectOne(`/api/v1/upload/${id}`);
    expect(req.request.method).toBe('DELETE');
    expect(req.request.headers.get('Authorization')).toBe('Bearer access-1');
    expect(req.request.headers.has('X-Upload-Token')).toBe(false);
    req.flush({ file: storedFile({ state: 'cancelled' }) });
    expect((await done).state).toBe('cancelled');
  });

  it('deletes a file (204) and passes a refusal on', async () => {
    const done = api.remove(id);
    const req = http.expectOne(`/api/v1/files/${id}`);
    expect(req.request.method).toBe('DELETE');
    req.flush(null, { status: 204, statusText: 'No Content' });
    await expect(done).resolves.toBeUndefined();

    const refused = api.remove(id);
    http
      .expectOne(`/api/v1/files/${id}`)
      .flush(apiError('upload_in_progress'), { status: 409, statusText: 'Conflict' });
    expect(apiErrorCode(await refused.catch((e: unknown) => e))).toBe('upload_in_progress');
  });

  it('asks for download tickets: attachment by default, inline for a preview', async () => {
    const plain = api.ticket(id);
    const a = http.expectOne({ method: 'POST', url: '/api/v1/download/tickets' });
    expect(a.request.body).toEqual({ fileId: id });
    a.flush({ url: `/api/v1/download/stream/${id}?ticket=t`, expiresAt: 'x' });
    expect((await plain).url).toBe(`/api/v1/download/stream/${id}?ticket=t`);

    const inline = api.ticket(id, 'inline');
    const b = http.expectOne({ method: 'POST', url: '/api/v1/download/tickets' });
    expect(b.request.body).toEqual({ fileId: id, disposition: 'inline' });
    b.flush({ url: `/api/v1/download/preview/stream/${id}?ticket=t`, expiresAt: 'x' });
    expect((await inline).url).toContain('/preview/stream/');
  });
});
