import {
  DEFAULT_UPLOAD_POLICY,
  InitiateFailure,
  UploadSession,
  type UploadSessionDeps,
} from './upload-session';
import { fakeSockets, type FakeWebSocket, initiated, patternFile, uploadedFile } from './testing';
import type { InitiatedUpload, UploadSnapshot } from './upload.types';

/** Small chunks keep the files tiny; the protocol does not care about the number. */
const CHUNK = 10;

describe('UploadSession', () => {
  let net: ReturnType<typeof fakeSockets>;
  let snapshots: UploadSnapshot[];
  let initiate: ReturnType<typeof vi.fn<() => Promise<InitiatedUpload>>>;
  let cancel: ReturnType<typeof vi.fn<(upload: InitiatedUpload) => Promise<void>>>;
  let connectedTo: InitiatedUpload[];

  beforeEach(() => {
    vi.useFakeTimers();
    net = fakeSockets();
    snapshots = [];
    connectedTo = [];
    initiate = vi.fn(() => Promise.resolve(initiated('f1', CHUNK)));
    cancel = vi.fn(() => Promise.resolve());
  });
  afterEach(() => vi.useRealTimers());

  function session(file: Blob): UploadSession {
    const deps: UploadSessionDeps = {
      initiate,
      connect: (upload) => {
        connectedTo.push(upload);
        return net.open(`ws://gw${upload.uploadUrl}?token=${upload.uploadToken}`);
      },
      cancel,
      onChange: (s) => snapshots.push(s),
    };
    return new UploadSession(file, deps);
  }

  /** Lets promises (initiate, cancel) settle without moving the clock. */
  const settle = () => vi.advanceTimersByTimeAsync(0);
  const socket = (n: number): FakeWebSocket => {
    const s = net.sockets[n];
    if (!s) throw new Error(`no socket #${n}; ${net.sockets.length} opened`);
    return s;
  };
  const bytesOf = async (blob: Blob) => Array.from(new Uint8Array(await blob.arrayBuffer()));
  const expectedBytes = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => (from + i) % 251);
  const phases = () => snapshots.map((s) => s.phase).filter((p, i, all) => p !== all[i - 1]);

  it('initiates, waits for ready, sends exact chunk slices with at most two buffered, and completes', async () => {
    const file = patternFile(35);
    const s = session(file);
    expect(s.snapshot.phase).toBe('waiting');
    s.start();
    expect(s.snapshot.phase).toBe('uploading');
    await settle();
    expect(initiate).toHaveBeenCalledTimes(1);
    const ws = socket(0);
    expect(ws.url).toBe('ws://gw/ws_api/upload/f1?token=token-f1');
    expect(ws.sent).toEqual([]); // nothing before ready

    ws.receive({ type: 'ready', offset: 0 });
    // Two chunks fill the buffer; the third waits for it to drain.
    expect(ws.frames.map((b) => b.size)).toEqual([10, 10]);
    ws.drain();
    ws.receive({ type: 'progress', committed: 0, received: 10 });
    expect(ws.frames.map((b) => b.size)).toEqual([10, 10, 10, 5]);
    for (const [i, frame] of ws.frames.entries()) {
      expect(await bytesOf(frame)).toEqual(expectedBytes(i * 10, Math.min(35, i * 10 + 10)));
    }
    ws.receive({ type: 'progress', committed: 20, received: 35 });
    expect(s.snapshot).toMatchObject({ phase: 'uploading', committed: 20, received: 35 });

    const done = uploadedFile('data.bin', 35, 'c0ffee');
    ws.receive({ type: 'complete', file: done });
    expect(s.snapshot).toMatchObject({
      phase: 'complete',
      committed: 35,
      received: 35,
      file: done,
    });
    expect(ws.closedWith).toBe(1000);
    expect(s.isActive).toBe(false);
    expect(phases()).toEqual(['uploading', 'complete']);
  });

  it('keeps sending once the buffer drains even when the server says nothing', async () => {
    const s = session(patternFile(45));
    s.start();
    await settle();
    const ws = socket(0);
    ws.receive({ type: 'ready', offset: 0 });
    expect(ws.frames).toHaveLength(2);
    ws.drain();
    await vi.advanceTimersByTimeAsync(DEFAULT_UPLOAD_POLICY.drainPollMs);
    expect(ws.frames).toHaveLength(4);
    ws.drain();
    await vi.advanceTimersByTimeAsync(DEFAULT_UPLOAD_POLICY.drainPollMs);
    expect(ws.frames.map((b) => b.size)).toEqual([10, 10, 10, 10, 5]);
    // Everything sent and the ready timeout long cleared: no timer left running.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resumes after a dropped connection from the offset the next ready names, after 1 s', async () => {
    const s = session(patternFile(50));
    s.start();
    await settle();
    socket(0).receive({ type: 'ready', offset: 0 });
    socket(0).receive({ type: 'progress', committed: 10, received: 20 });
    socket(0).drop();
    expect(s.snapshot).toMatchObject({
      phase: 'reconnecting',
      retryInSeconds: 1,
      message: 'The connection to the server was lost',
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(net.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.sockets).toHaveLength(2);
    expect(initiate).toHaveBeenCalledTimes(1); // same upload, same token
    expect(connectedTo[1]).toEqual(connectedTo[0]);
    expect(s.snapshot.phase).toBe('uploading');

    socket(1).receive({ type: 'ready', offset: 10 });
    expect(s.snapshot).toMatchObject({ committed: 10, received: 10 });
    expect(await bytesOf(socket(1).frames[0]!)).toEqual(expectedBytes(10, 20));
    expect(socket(1).frames.map((b) => b.size)).toEqual([10, 10]);
  });

  it('backs off 1, 2, 4, 8, 16, 30, 30 s while nothing gets through, then gives up (resumable)', async () => {
    const s = session(patternFile(30));
    s.start();
    await settle();
    const waits: number[] = [];
    for (let i = 0; i < DEFAULT_UPLOAD_POLICY.maxFailures - 1; i++) {
      socket(i).drop();
      expect(s.snapshot.phase).toBe('reconnecting');
      waits.push(s.snapshot.retryInSeconds!);
      await vi.advanceTimersByTimeAsync(s.snapshot.retryInSeconds! * 1000);
      expect(net.sockets).toHaveLength(i + 2);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 30, 30]);
    socket(7).drop();
    expect(s.snapshot).toMatchObject({ phase: 'failed', resumable: true });
    expect(s.snapshot.message).toBe(
      'Gave up after 8 attempts in a row: The connection to the server was lost.',
    );
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sockets).toHaveLength(8);

    // Retry resumes the same upload rather than starting a new one.
    s.retry();
    expect(s.snapshot.phase).toBe('waiting');
    s.start();
    await settle();
    expect(net.sockets).toHaveLength(9);
    expect(initiate).toHaveBeenCalledTimes(1);
  });

  it('counts the reconnect delay down second by second', async () => {
    const s = session(patternFile(30));
    s.start();
    await settle();
    for (let i = 0; i < 3; i++) {
      socket(i).drop();
      await vi.advanceTimersByTimeAsync(s.snapshot.retryInSeconds! * 1000);
    }
    socket(3).drop();
    expect(s.snapshot.retryInSeconds).toBe(8);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.snapshot.retryInSeconds).toBe(7);
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.snapshot.retryInSeconds).toBe(2);
  });

  it('starts the backoff over once the server commits new bytes', async () => {
    const s = session(patternFile(100));
    s.start();
    await settle();
    socket(0).drop();
    await vi.advanceTimersByTimeAsync(1000);
    socket(1).drop();
    expect(s.snapshot.retryInSeconds).toBe(2);
    await vi.advanceTimersByTimeAsync(2000);
    socket(2).receive({ type: 'ready', offset: 0 });
    socket(2).receive({ type: 'progress', committed: 10, received: 20 });
    socket(2).drop();
    expect(s.snapshot.retryInSeconds).toBe(1);
  });

  it('reconnects after a retryable error, and starts over from 0 after upload_restarted', async () => {
    const s = session(patternFile(30));
    s.start();
    await settle();
    socket(0).receive({ type: 'ready', offset: 0 });
    socket(0).receive({ type: 'progress', committed: 20, received: 20 });
    socket(0).receive({
      type: 'error',
      code: 'upload_restarted',
      message: 'The session expired; the upload starts over',
      retryable: true,
    });
    expect(s.snapshot).toMatchObject({
      phase: 'reconnecting',
      message: 'The session expired; the upload starts over',
    });
    expect(socket(0).closedWith).toBe(1000);
    // The server's close comes after; it must not schedule a second reconnect.
    socket(0).drop(1013);
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.sockets).toHaveLength(2);
    socket(1).receive({ type: 'ready', offset: 0 });
    expect(s.snapshot).toMatchObject({ phase: 'uploading', committed: 0, received: 0 });
    expect(await bytesOf(socket(1).frames[0]!)).toEqual(expectedBytes(0, 10));
  });

  it('fails on a final error with the server message and does not reconnect; retry starts a new upload', async () => {
    const s = session(patternFile(30));
    s.start();
    await settle();
    socket(0).receive({ type: 'ready', offset: 0 });
    socket(0).receive({
      type: 'error',
      code: 'upload_expired',
      message: 'This upload was expired; start a new one',
      retryable: false,
    });
    socket(0).drop(1008);
    expect(s.snapshot).toMatchObject({
      phase: 'failed',
      message: 'This upload was expired; start a new one',
      resumable: false,
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sockets).toHaveLength(1);

    initiate.mockResolvedValueOnce(initiated('f2', CHUNK));
    s.retry();
    expect(s.snapshot).toMatchObject({ phase: 'waiting', committed: 0 });
    s.start();
    await settle();
    expect(initiate).toHaveBeenCalledTimes(2);
    expect(socket(1).url).toBe('ws://gw/ws_api/upload/f2?token=token-f2');
  });

  it('treats a connection that never says ready as dropped', async () => {
    const s = session(patternFile(30));
    s.start();
    await settle();
    socket(0).open();
    await vi.advanceTimersByTimeAsync(DEFAULT_UPLOAD_POLICY.readyTimeoutMs);
    expect(s.snapshot).toMatchObject({
      phase: 'reconnecting',
      message: 'The server did not answer',
    });
    expect(socket(0).closedWith).toBe(1000);
  });

  it('completes a 0-byte file right after ready without sending a frame', async () => {
    const s = session(new File([], 'empty.txt'));
    s.start();
    await settle();
    socket(0).receive({ type: 'ready', offset: 0 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(socket(0).sent).toEqual([]);
    const sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    socket(0).receive({ type: 'complete', file: uploadedFile('empty.txt', 0, sha) });
    expect(s.snapshot).toMatchObject({ phase: 'complete', committed: 0 });
    expect(s.snapshot.file?.sha256).toBe(sha);
  });

  it('sends nothing when ready says everything is already committed', async () => {
    const s = session(patternFile(30));
    s.start();
    await settle();
    socket(0).receive({ type: 'ready', offset: 30 });
    expect(socket(0).sent).toEqual([]);
    expect(s.snapshot).toMatchObject({ committed: 30, received: 30 });
  });

  describe('cancel', () => {
    it('while uploading: sends cancel on the socket, stops sending and ends on cancelled', async () => {
      const s = session(patternFile(50));
      s.start();
      await settle();
      const ws = socket(0);
      ws.receive({ type: 'ready', offset: 0 });
      s.cancel();
      expect(s.snapshot.phase).toBe('cancelling');
      expect(ws.texts).toEqual([{ type: 'cancel' }]);
      ws.drain();
      ws.receive({ type: 'progress', committed: 10, received: 20 });
      expect(ws.frames).toHaveLength(2); // no more chunks after the cancel
      ws.receive({
        type: 'cancelled',
        file: { ...uploadedFile('data.bin', 50), state: 'cancelled' },
      });
      expect(s.snapshot).toMatchObject({ phase: 'cancelled', resumable: false });
      expect(cancel).not.toHaveBeenCalled();
    });

    it('while connecting: sends cancel as soon as the server is ready', async () => {
      const s = session(patternFile(50));
      s.start();
      await settle();
      s.cancel();
      socket(0).receive({ type: 'ready', offset: 20 });
      expect(socket(0).texts).toEqual([{ type: 'cancel' }]);
      expect(socket(0).frames).toEqual([]);
    });

    it('while reconnecting: cancels over HTTP and never reconnects', async () => {
      const s = session(patternFile(50));
      s.start();
      await settle();
      socket(0).drop();
      s.cancel();
      expect(s.snapshot).toMatchObject({ phase: 'cancelling', retryInSeconds: null });
      await settle();
      expect(cancel).toHaveBeenCalledWith(initiated('f1', CHUNK));
      expect(s.snapshot.phase).toBe('cancelled');
      await vi.advanceTimersByTimeAsync(60_000);
      expect(net.sockets).toHaveLength(1);
    });

    it('falls back to HTTP when the socket closes before the server confirms', async () => {
      const s = session(patternFile(50));
      s.start();
      await settle();
      socket(0).receive({ type: 'ready', offset: 0 });
      s.cancel();
      socket(0).drop();
      await settle();
      expect(cancel).toHaveBeenCalledTimes(1);
      expect(s.snapshot.phase).toBe('cancelled');
    });

    it('while initiating: cancels the upload the server then creates', async () => {
      let resolve!: (u: InitiatedUpload) => void;
      initiate.mockReturnValueOnce(new Promise((r) => (resolve = r)));
      const s = session(patternFile(50));
      s.start();
      s.cancel();
      resolve(initiated('f1', CHUNK));
      await settle();
      expect(net.sockets).toHaveLength(0);
      expect(cancel).toHaveBeenCalledWith(initiated('f1', CHUNK));
      expect(s.snapshot.phase).toBe('cancelled');
    });

    it('before starting: just marks it cancelled', () => {
      const s = session(patternFile(50));
      s.cancel();
      expect(s.snapshot.phase).toBe('cancelled');
      s.start();
      expect(initiate).not.toHaveBeenCalled();
    });

    it('keeps the upload cancellable when the server cannot confirm', async () => {
      cancel.mockRejectedValueOnce(new Error('Cannot reach the server.'));
      const s = session(patternFile(50));
      s.start();
      await settle();
      socket(0).drop();
      s.cancel();
      await settle();
      expect(s.snapshot).toMatchObject({
        phase: 'failed',
        resumable: true,
        message: 'Could not cancel the upload: Cannot reach the server.',
      });
      s.cancel();
      await settle();
      expect(s.snapshot.phase).toBe('cancelled');
    });
  });

  describe('initiate failures', () => {
    it('a final one fails at once with its message', async () => {
      initiate.mockRejectedValueOnce(new InitiateFailure('Does not fit in your quota.', false));
      const s = session(patternFile(50));
      s.start();
      await settle();
      expect(s.snapshot).toMatchObject({
        phase: 'failed',
        message: 'Does not fit in your quota.',
        resumable: false,
      });
      expect(net.sockets).toHaveLength(0);
    });

    it('a retryable one waits at least Retry-After, then initiates again', async () => {
      initiate.mockRejectedValueOnce(new InitiateFailure('Storage is busy', true, 5_000));
      const s = session(patternFile(50));
      s.start();
      await settle();
      expect(s.snapshot).toMatchObject({
        phase: 'reconnecting',
        retryInSeconds: 5,
        message: 'Storage is busy',
      });
      await vi.advanceTimersByTimeAsync(5_000);
      expect(initiate).toHaveBeenCalledTimes(2);
      expect(net.sockets).toHaveLength(1);
    });
  });

  it('dispose stops the reconnect timer and the socket without telling the server', async () => {
    const s = session(patternFile(50));
    s.start();
    await settle();
    socket(0).drop();
    s.dispose();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sockets).toHaveLength(1);
    expect(cancel).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores late events of a connection it already gave up on', async () => {
    const s = session(patternFile(50));
    s.start();
    await settle();
    const old = socket(0);
    old.receive({ type: 'ready', offset: 0 });
    old.receive({ type: 'error', code: 'internal_error', message: 'oops', retryable: true });
    await vi.advanceTimersByTimeAsync(1000);
    socket(1).receive({ type: 'ready', offset: 10 });
    old.receive({ type: 'complete', file: uploadedFile('data.bin', 50) });
    old.drop();
    expect(s.snapshot).toMatchObject({ phase: 'uploading', committed: 10 });
  });
});
