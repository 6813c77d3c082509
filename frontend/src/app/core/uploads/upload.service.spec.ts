import { HttpErrorResponse, HttpHeaders } from '@angular/common/http';
import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { AuthService } from '../auth/auth.service';
import { apiError, flushMicrotasks, setUpAuthTesting, signIn, USER } from '../auth/testing';
import { InitiateFailure } from './upload-session';
import {
  initiateFailure,
  MAX_PARALLEL_UPLOADS,
  UploadService,
  WEB_SOCKET_FACTORY,
} from './upload.service';
import { fakeSockets, initiated, uploadedFile } from './testing';

describe('UploadService', () => {
  let http: HttpTestingController;
  let net: ReturnType<typeof fakeSockets>;
  let service: UploadService;

  beforeEach(async () => {
    net = fakeSockets();
    TestBed.configureTestingModule({
      providers: [{ provide: WEB_SOCKET_FACTORY, useValue: net.open }],
    });
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http);
    service = TestBed.inject(UploadService);
    TestBed.tick();
  });
  afterEach(() => http.verify());

  const file = (name: string, size = 5, type = 'text/plain') =>
    new File([new Uint8Array(size)], name, { type });

  /** Answers the storage refresh the service asks for after an upload reserves or settles space. */
  const answerUsageNow = (storageUsed = 0) => {
    for (const req of http.match('/api/v1/auth/users/me')) req.flush({ ...USER, storageUsed });
  };
  const answerUsage = async (storageUsed = 0) => {
    answerUsageNow(storageUsed);
    await flushMicrotasks();
  };

  it('initiates each file, opens its socket with the upload token, and runs at most three at once', async () => {
    service.add([file('a.txt'), file('b.txt'), file('c.txt'), file('d.bin', 7, '')]);
    expect(service.uploads().map((u) => [u.name, u.size])).toEqual([
      ['a.txt', 5],
      ['b.txt', 5],
      ['c.txt', 5],
      ['d.bin', 7],
    ]);
    const requests = http.match('/api/v1/upload/initiate');
    expect(requests).toHaveLength(MAX_PARALLEL_UPLOADS);
    expect(requests[0]!.request.body).toEqual({
      filename: 'a.txt',
      size: 5,
      contentType: 'text/plain',
    });
    expect(requests[0]!.request.headers.get('Authorization')).toBe('Bearer access-1');
    requests.forEach((req, i) =>
      req.flush(initiated(`f${i + 1}`), { status: 201, statusText: 'Created' }),
    );
    await flushMicrotasks();
    await answerUsage(15);
    expect(TestBed.inject(AuthService).currentUser()?.storageUsed).toBe(15);

    expect(net.sockets.map((s) => s.url)).toEqual(
      [1, 2, 3].map((n) => {
        const url = new URL(`/ws_api/upload/f${n}?token=token-f${n}`, document.baseURI);
        return url.toString().replace(/^http/, 'ws');
      }),
    );
    expect(service.uploads()[3]!.state().phase).toBe('waiting');

    // One finishing frees a slot for the fourth, whose body carries no empty contentType.
    net.sockets[1]!.receive({ type: 'ready', offset: 0 });
    net.sockets[1]!.receive({ type: 'complete', file: uploadedFile('b.txt', 5) });
    expect(service.uploads()[1]!.state().phase).toBe('complete');
    const fourth = http.expectOne('/api/v1/upload/initiate');
    expect(fourth.request.body).toEqual({ filename: 'd.bin', size: 7 });
    fourth.flush(initiated('f4'), { status: 201, statusText: 'Created' });
    await flushMicrotasks();
    await answerUsage();
    expect(net.sockets).toHaveLength(4);
    expect(service.uploads().filter((u) => u.state().phase === 'uploading')).toHaveLength(3);
    expect(service.hasFinished()).toBe(true);
  });

  it('re-reads the storage figures after an upload completes, and counts the completion', async () => {
    service.add([file('a.txt')]);
    http.expectOne('/api/v1/upload/initiate').flush(initiated('f1'));
    await flushMicrotasks();
    await answerUsage(5);
    expect(service.completed()).toBe(0);
    net.sockets[0]!.receive({ type: 'ready', offset: 0 });
    net.sockets[0]!.receive({ type: 'progress', committed: 5, received: 5 });
    expect(service.completed()).toBe(0);
    net.sockets[0]!.receive({ type: 'complete', file: uploadedFile('a.txt', 5) });
    expect(service.completed()).toBe(1);
    http.expectOne('/api/v1/auth/users/me').flush({ ...USER, storageUsed: 5 });
    await flushMicrotasks();
    expect(service.uploads()[0]!.state().file?.sha256).toBe('ab'.repeat(32));
  });

  it('names the server uploads it holds, and counts every settled one', async () => {
    service.add([file('a.txt'), file('b.txt')]);
    // Not initiated yet: the server has no file for them.
    expect(service.heldUploads().size).toBe(0);
    const [a, b] = http.match('/api/v1/upload/initiate');
    a!.flush(initiated('fa'), { status: 201, statusText: 'Created' });
    b!.flush(initiated('fb'), { status: 201, statusText: 'Created' });
    await flushMicrotasks();
    await answerUsage();
    expect([...service.heldUploads()]).toEqual([
      ['fa', service.uploads()[0]!.key],
      ['fb', service.uploads()[1]!.key],
    ]);
    expect(service.settled()).toBe(0);

    net.sockets[0]!.receive({ type: 'ready', offset: 0 });
    net.sockets[0]!.receive({ type: 'complete', file: uploadedFile('a.txt', 5) });
    net.sockets[1]!.receive({ type: 'ready', offset: 0 });
    service.cancel(service.uploads()[1]!.key);
    expect(net.sockets[1]!.texts).toEqual([{ type: 'cancel' }]);
    // Still held while the server confirms.
    expect([...service.heldUploads().keys()]).toEqual(['fb']);
    net.sockets[1]!.receive({ type: 'cancelled', file: uploadedFile('b.txt', 5) });
    answerUsageNow();
    expect(service.heldUploads().size).toBe(0);
    expect(service.settled()).toBe(2);
    expect(service.completed()).toBe(1);
  });

  it('shows why initiate was refused: quota, no storage', async () => {
    service.add([file('big.iso', 3 * 1024 ** 2), file('other.iso')]);
    const [quota, full] = http.match('/api/v1/upload/initiate');
    quota!.flush(apiError('quota_exceeded', 'This file needs 3145728 bytes but only 10 bytes…'), {
      status: 413,
      statusText: 'Payload Too Large',
    });
    full!.flush(apiError('insufficient_storage', 'No pool member can take this file'), {
      status: 507,
      statusText: 'Insufficient Storage',
    });
    await flushMicrotasks();
    await answerUsage();
    const [a, b] = service.uploads().map((u) => u.state());
    expect(a).toMatchObject({
      phase: 'failed',
      resumable: false,
      message:
        'This file (3 MiB) does not fit in your remaining storage quota. Free up space and try again.',
    });
    expect(b?.message).toBe(
      'No storage account has room for this file right now. An administrator needs to add storage.',
    );
    expect(net.sockets).toHaveLength(0);

    // Retry asks the server again.
    service.retry(service.uploads()[0]!.key);
    expect(service.uploads()[0]!.state().phase).toBe('uploading');
    http
      .expectOne('/api/v1/upload/initiate')
      .flush(apiError('quota_exceeded', 'x'), { status: 413, statusText: 'Payload Too Large' });
    await flushMicrotasks();
    await answerUsage();
    expect(service.uploads()[0]!.state().phase).toBe('failed');
  });

  it('cancels over HTTP with the upload token when no connection is open, and drops finished rows', async () => {
    vi.useFakeTimers();
    try {
      service.add([file('a.txt')]);
      http.expectOne('/api/v1/upload/initiate').flush(initiated('f1'));
      await vi.advanceTimersByTimeAsync(0);
      answerUsageNow();
      net.sockets[0]!.drop();
      expect(service.uploads()[0]!.state().phase).toBe('reconnecting');

      service.cancel(service.uploads()[0]!.key);
      const req = http.expectOne('/api/v1/upload/f1');
      expect(req.request.method).toBe('DELETE');
      expect(req.request.headers.get('X-Upload-Token')).toBe('token-f1');
      // Already gone on the server counts as cancelled.
      req.flush(apiError('upload_expired', 'This upload was expired'), {
        status: 410,
        statusText: 'Gone',
      });
      await vi.advanceTimersByTimeAsync(0);
      answerUsageNow();
      expect(service.uploads()[0]!.state().phase).toBe('cancelled');
      await vi.advanceTimersByTimeAsync(60_000);
      expect(net.sockets).toHaveLength(1);

      service.clearFinished();
      expect(service.uploads()).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps a failed upload the server still holds when clearing finished rows', async () => {
    service.add([file('a.txt', 50), file('b.txt')]);
    const [a, b] = http.match('/api/v1/upload/initiate');
    a!.flush(initiated('f1'));
    b!.flush(apiError('quota_exceeded', 'x'), { status: 413, statusText: 'Payload Too Large' });
    await flushMicrotasks();
    await answerUsage();
    // a: the cancel is sent, the connection drops, and the HTTP fallback fails too.
    net.sockets[0]!.receive({ type: 'ready', offset: 0 });
    service.cancel(service.uploads()[0]!.key);
    net.sockets[0]!.drop();
    http
      .expectOne('/api/v1/upload/f1')
      .flush(apiError('internal_error', 'Something went wrong on our side'), {
        status: 500,
        statusText: 'Internal Server Error',
      });
    await flushMicrotasks();
    await answerUsage();
    expect(service.uploads().map((u) => u.state())).toMatchObject([
      {
        phase: 'failed',
        resumable: true,
        message: 'Could not cancel the upload: Something went wrong on our side',
      },
      { phase: 'failed', resumable: false },
    ]);
    service.clearFinished();
    expect(service.uploads().map((u) => u.name)).toEqual(['a.txt']);
  });

  it('cancels the uploads and empties the list when the user signs out', async () => {
    service.add([file('a.txt', 50), file('b.txt')]);
    const [a, b] = http.match('/api/v1/upload/initiate');
    a!.flush(initiated('f1'));
    await flushMicrotasks();
    await answerUsage();
    net.sockets[0]!.receive({ type: 'ready', offset: 0 });

    TestBed.inject(AuthService).clear();
    TestBed.tick();
    expect(service.uploads()).toEqual([]);
    expect(net.sockets[0]!.texts).toEqual([{ type: 'cancel' }]);
    // b was still initiating: the upload the server creates is cancelled right away.
    b!.flush(initiated('f2'));
    await flushMicrotasks();
    const cancel = http.expectOne('/api/v1/upload/f2');
    expect(cancel.request.headers.get('X-Upload-Token')).toBe('token-f2');
    cancel.flush({ file: {} });
    await flushMicrotasks();
    expect(net.sockets).toHaveLength(1);
  });

  it('asks before the page is left while uploads run', async () => {
    const ask = () => {
      const event = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(event);
      return event.defaultPrevented;
    };
    expect(ask()).toBe(false);
    service.add([file('a.txt')]);
    expect(ask()).toBe(true);
    http.expectOne('/api/v1/upload/initiate').flush(initiated('f1'));
    await flushMicrotasks();
    await answerUsage();
    net.sockets[0]!.receive({ type: 'ready', offset: 0 });
    net.sockets[0]!.receive({ type: 'complete', file: uploadedFile('a.txt', 5) });
    await answerUsage();
    expect(ask()).toBe(false);
  });
});

describe('initiateFailure', () => {
  it('retries a 503 after Retry-After, and a network failure', () => {
    const busy = initiateFailure(
      new HttpErrorResponse({
        status: 503,
        headers: new HttpHeaders({ 'Retry-After': '30' }),
        error: apiError(
          'storage_unavailable',
          'No storage account could start the upload right now; please try again shortly',
        ),
      }),
      1,
    );
    expect(busy).toBeInstanceOf(InitiateFailure);
    expect(busy).toMatchObject({ retryable: true, retryAfterMs: 30_000 });
    expect(busy.message).toBe(
      'No storage account could start the upload right now; please try again shortly',
    );
    expect(initiateFailure(new HttpErrorResponse({ status: 0 }), 1)).toMatchObject({
      retryable: true,
      retryAfterMs: 0,
      message: 'The server cannot be reached at the moment',
    });
  });

  it('passes other refusals through as final, with the server message', () => {
    const invalid = initiateFailure(
      new HttpErrorResponse({
        status: 400,
        error: apiError('validation_failed', 'filename: must contain a usable name'),
      }),
      1,
    );
    expect(invalid).toMatchObject({
      retryable: false,
      message: 'filename: must contain a usable name',
    });
  });
});
