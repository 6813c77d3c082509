import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { AuthService } from '../auth/auth.service';
import { apiError, setUpAuthTesting, signIn } from '../auth/testing';
import { ShareLinksService } from './share-links.service';
import { shareLink, TOKEN } from './testing';

describe('ShareLinksService', () => {
  let http: HttpTestingController;
  let api: ShareLinksService;
  const fileId = shareLink().fileId;

  beforeEach(() => {
    http = setUpAuthTesting();
    api = TestBed.inject(ShareLinksService);
  });
  afterEach(() => http.verify());

  it('creates, lists and revokes a file’s links as its signed-in owner', async () => {
    await signIn(TestBed.inject(AuthService), http);
    const created = api.create(fileId, { expiresInSeconds: 3600, password: 'pw' });
    const post = http.expectOne({ method: 'POST', url: `/api/v1/files/${fileId}/links` });
    expect(post.request.body).toEqual({ expiresInSeconds: 3600, password: 'pw' });
    expect(post.request.headers.get('Authorization')).toBe('Bearer access-1');
    const body = { id: 'l1', token: TOKEN, url: `http://gw/s/${TOKEN}`, expiresAt: 'x' };
    post.flush(body, { status: 201, statusText: 'Created' });
    expect(await created).toEqual(body);

    const listed = api.list(fileId);
    http.expectOne(`/api/v1/files/${fileId}/links`).flush({ items: [shareLink()], total: 1 });
    expect(await listed).toEqual([shareLink()]);

    const revoked = api.revoke(fileId, 'l1');
    const del = http.expectOne(`/api/v1/files/${fileId}/links/l1`);
    expect(del.request.method).toBe('DELETE');
    del.flush(null, { status: 204, statusText: 'No Content' });
    await expect(revoked).resolves.toBeUndefined();
  });

  it('reads a link’s public metadata and unlocks it without any session', async () => {
    const info = api.info(TOKEN);
    const get = http.expectOne(`/api/v1/links/${TOKEN}`);
    expect(get.request.headers.has('Authorization')).toBe(false);
    get.flush({
      name: 'a.txt',
      size: 3,
      mimeType: 'text/plain',
      expiresAt: 'x',
      passwordRequired: true,
    });
    expect((await info).passwordRequired).toBe(true);

    const unlocked = api.unlock(TOKEN, 'secret');
    const post = http.expectOne({ method: 'POST', url: `/api/v1/links/${TOKEN}/unlock` });
    expect(post.request.body).toEqual({ password: 'secret' });
    post.flush({ downloadUrl: `/api/v1/links/${TOKEN}/download?key=k`, expiresAt: 'x' });
    expect((await unlocked).downloadUrl).toBe(`/api/v1/links/${TOKEN}/download?key=k`);

    const wrong = api.unlock(TOKEN, 'nope');
    http
      .expectOne(`/api/v1/links/${TOKEN}/unlock`)
      .flush(apiError('wrong_password'), { status: 401, statusText: 'Unauthorized' });
    await expect(wrong).rejects.toMatchObject({ status: 401 });

    expect(api.downloadUrl(TOKEN)).toBe(`/api/v1/links/${TOKEN}/download`);
  });
});
