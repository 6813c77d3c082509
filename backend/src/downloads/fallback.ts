import { finished, Readable } from 'node:stream';
import { backupRemoteId, type BackupTarget } from '../backup/target';
import { ProviderError, TransientError } from '../providers/errors';
import type { ByteRange } from '../providers/types';
import type { AccountRecord, FileRecord, MetadataStore } from '../store/types';
import type { StorageProvider } from '../providers/types';

/**
 * Download fallback (ARCHITECTURE.md, "Download fallback"): a file's bytes come
 * from its primary copy; when that cannot be opened they come from the backup;
 * when a copy breaks off mid-stream the next one is opened with a Range read at
 * the exact byte where the last one stopped, so the reader sees one intact,
 * gap-free stream. Only when no copy can go on does the stream fail — and it
 * fails (errors), never ends early or delivers bytes from past the asked range.
 */

export type CopyName = 'primary' | 'backup';

/** One place a file's bytes can be read from. */
export interface CopySource {
  readonly name: CopyName;
  /** Opens the inclusive `range` (whole object when undefined); `size` is the whole object's size. */
  open(range: ByteRange | undefined): Promise<{ stream: Readable; size: number }>;
}

export type FallbackPhase = 'before_first_byte' | 'mid_stream';

export interface FallbackEvent {
  phase: FallbackPhase;
  from: CopyName;
  to: CopyName;
  /** Absolute byte offset in the file where the new copy takes over. */
  offset: number;
  error: unknown;
}

export interface FileStreamOptions {
  /** In order of preference. */
  sources: CopySource[];
  /** The file's size as the metadata store records it: a copy of another size is not this file. */
  size: number;
  /** Inclusive range to deliver; null for the whole file. */
  range: ByteRange | null;
  /**
   * How long opening a copy may take before the next one is tried. Only
   * applies while another copy is left to try: with none, waiting (through
   * the provider's own retries) is the better bet.
   */
  openTimeoutMs: number;
  /** No data for this long while the reader wants some: the copy is treated as broken. 0 disables. */
  stallTimeoutMs: number;
  onFallback?: (event: FallbackEvent) => void;
}

/** No copy could deliver (the rest of) the file; `failures` says what each attempt ran into. */
export class FileUnavailableError extends Error {
  constructor(readonly failures: ReadonlyArray<{ source: CopyName; error: unknown }>) {
    super(
      failures.length === 0
        ? 'The file has no readable copy'
        : `No copy of the file could be read (${failures.map((f) => `${f.source}: ${f.error instanceof Error ? f.error.message : String(f.error)}`).join('; ')})`,
    );
    this.name = 'FileUnavailableError';
  }

  /** True when every failure may pass by itself (outage, timeout, a disabled account) rather than a copy being wrong or gone. */
  get transient(): boolean {
    return this.failures.every((f) => f.error instanceof CopyUnavailableError || (f.error instanceof ProviderError && f.error.retryable));
  }
}

/** A copy that cannot be tried at all right now (no account, account disabled). */
export class CopyUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyUnavailableError';
  }
}

/** A copy is opened at most this often in one stream (a second time only to resume after it made progress). */
const MAX_OPENS_PER_COPY = 2;

interface Attempt {
  source: CopySource;
  opens: number;
  /** Whether its latest opening delivered at least one byte. */
  progressed: boolean;
  /** Whether its latest opening was given up on for being slow (it may still be fine: worth waiting for when nothing else is left). */
  timedOut: boolean;
}

/**
 * The bytes of one file (or range of it) from whichever copy can deliver
 * them. Pull-based: an upstream is paused whenever this stream's buffer is
 * full and resumed when the reader asks for more, so a slow client slows the
 * upstream instead of filling memory. Destroying this stream (the client went
 * away) destroys the upstream, which closes its connection.
 *
 * `ready` settles once the first copy is open — the moment an HTTP answer can
 * commit to a status — or rejects with FileUnavailableError when none opens.
 */
export class FileStream extends Readable {
  readonly ready: Promise<void>;
  /** Bytes delivered from each copy so far. */
  readonly bytesFrom: Record<CopyName, number> = { primary: 0, backup: 0 };
  /** What went wrong along the way (also on success, when a fallback was needed). */
  readonly failures: Array<{ source: CopyName; error: unknown }> = [];

  private readonly start: number;
  private readonly total: number;
  private readonly attempts: Attempt[];
  private delivered = 0;
  private current: { attempt: Attempt; stream: Readable; onData: (chunk: Buffer) => void } | null = null;
  private started = false;
  private done = false;
  private stallTimer: NodeJS.Timeout | null = null;
  private settleReady!: (err?: unknown) => void;

  constructor(private readonly options: FileStreamOptions) {
    // A few hundred KiB in flight per download: enough to keep the socket busy without pausing the
    // upstream on every chunk, small enough that ten thousand downloads stay within a few GiB.
    super({ highWaterMark: 256 * 1024 });
    const range = options.range ?? { start: 0, end: options.size - 1 };
    this.start = range.start;
    this.total = options.size === 0 ? 0 : range.end - range.start + 1;
    this.attempts = options.sources.map((source) => ({ source, opens: 0, progressed: false, timedOut: false }));
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err?: unknown) => (err === undefined ? resolve() : reject(err));
    });
    // Readers learn of failures through `ready`, pipeline() or for-await (which listen for themselves);
    // a failure nobody happens to be listening for at that moment must not take the process down.
    this.ready.catch(() => undefined);
    this.on('error', () => undefined);
  }

  override _construct(callback: (err?: Error | null) => void): void {
    if (this.total === 0) {
      this.started = true;
      this.settleReady();
      callback();
      return;
    }
    this.openNext(null).then(
      () => {
        if (this.destroyed) {
          // The reader left while the copy was opening; _destroy closes whatever was opened.
          this.settleReady(new Error('The download was abandoned'));
          callback();
          return;
        }
        this.started = true;
        this.settleReady();
        callback();
      },
      (err: unknown) => {
        this.settleReady(err);
        callback(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  override _read(): void {
    if (this.delivered >= this.total) {
      this.finish();
      return;
    }
    const current = this.current;
    if (current && current.stream.isPaused()) {
      current.stream.resume();
      this.armStall();
    }
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.clearStall();
    const current = this.current;
    this.current = null;
    if (current) this.detach(current);
    this.settleReady(err ?? new Error('The download was abandoned'));
    callback(err);
  }

  /** Opens the best remaining copy at the current offset; throws FileUnavailableError when none is left. */
  private async openNext(failed: CopyName | null): Promise<void> {
    let from = failed;
    for (;;) {
      const attempt = this.nextAttempt();
      if (!attempt) throw new FileUnavailableError(this.failures);
      const offset = this.start + this.delivered;
      if (from !== null) {
        this.options.onFallback?.({
          phase: this.started ? 'mid_stream' : 'before_first_byte',
          from,
          to: attempt.source.name,
          offset,
          error: this.failures[this.failures.length - 1]?.error,
        });
      }
      attempt.opens += 1;
      attempt.progressed = false;
      attempt.timedOut = false;
      const end = this.start + this.total - 1;
      const whole = offset === 0 && end === this.options.size - 1;
      const othersLeft = this.attempts.some((a) => a !== attempt && this.eligible(a));
      try {
        const opened = await withTimeout(
          attempt.source.open(whole ? undefined : { start: offset, end }),
          othersLeft ? this.options.openTimeoutMs : 0,
          `Opening the ${attempt.source.name} copy`,
        );
        if (opened.size !== this.options.size) {
          opened.stream.destroy();
          throw new TransientError(`The ${attempt.source.name} copy holds ${opened.size} bytes, not ${this.options.size}`);
        }
        if (this.destroyed) {
          opened.stream.destroy();
          return;
        }
        this.attach(attempt, opened.stream);
        return;
      } catch (err) {
        if (err instanceof OpenTimeoutError) attempt.timedOut = true;
        this.failures.push({ source: attempt.source.name, error: err });
        from = attempt.source.name;
        if (this.destroyed) return;
      }
    }
  }

  /**
   * Copies never tried come first (in order of preference); then one that made
   * progress may resume once, and one that was only slow to open is waited for
   * (without a time limit, being the last) once.
   */
  private nextAttempt(): Attempt | undefined {
    return this.attempts.find((a) => a.opens === 0) ?? this.attempts.find((a) => this.eligible(a));
  }

  private eligible(a: Attempt): boolean {
    return a.opens === 0 || ((a.progressed || a.timedOut) && a.opens < MAX_OPENS_PER_COPY);
  }

  private attach(attempt: Attempt, stream: Readable): void {
    // Paused until the reader asks: attaching a 'data' listener would otherwise start the flow.
    stream.pause();
    const onData = (chunk: Buffer) => this.onData(stream, chunk);
    this.current = { attempt, stream, onData };
    stream.on('data', onData);
    finished(stream, { writable: false }, (err) => {
      if (this.current?.stream !== stream) return; // replaced, finished or destroyed by us
      this.failCurrent(err ?? new TransientError(`The ${attempt.source.name} copy ended early`));
    });
    if (this.started) {
      // Taking over mid-stream: the reader is already waiting for the bytes.
      stream.resume();
      this.armStall();
    }
  }

  private onData(stream: Readable, chunk: Buffer): void {
    const current = this.current;
    if (!current || current.stream !== stream) return;
    const remaining = this.total - this.delivered;
    // A copy that sends more than was asked has nothing more to give us: its extra bytes are never passed on.
    const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
    this.delivered += piece.length;
    current.attempt.progressed = true;
    this.bytesFrom[current.attempt.source.name] += piece.length;
    this.armStall();
    const more = this.push(piece);
    if (this.delivered >= this.total) {
      this.finish();
      return;
    }
    if (!more) {
      stream.pause();
      this.clearStall();
    }
  }

  private failCurrent(err: unknown): void {
    const current = this.current;
    if (!current) return;
    this.current = null;
    this.clearStall();
    this.detach(current);
    this.failures.push({ source: current.attempt.source.name, error: err });
    if (this.destroyed) return;
    this.openNext(current.attempt.source.name).catch((e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))));
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.clearStall();
    const current = this.current;
    this.current = null;
    if (current) this.detach(current);
    this.push(null);
  }

  private detach(current: { stream: Readable; onData: (chunk: Buffer) => void }): void {
    current.stream.removeListener('data', current.onData);
    // Frees the upstream connection whether or not it has sent everything.
    current.stream.destroy();
  }

  private armStall(): void {
    if (this.options.stallTimeoutMs <= 0 || !this.current) return;
    if (this.stallTimer) {
      this.stallTimer.refresh();
      return;
    }
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      const current = this.current;
      if (current && !current.stream.isPaused()) {
        current.stream.destroy(new TransientError(`The ${current.attempt.source.name} copy sent nothing for ${this.options.stallTimeoutMs} ms`));
      }
    }, this.options.stallTimeoutMs);
    this.stallTimer.unref();
  }

  private clearStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }
}

/** Opening a copy took longer than we wait while another copy is left. */
class OpenTimeoutError extends TransientError {}

/** `work`, or an OpenTimeoutError after `ms` (0: no limit); a late success has its stream destroyed. */
function withTimeout<T extends { stream: Readable }>(work: Promise<T>, ms: number, what: string): Promise<T> {
  if (!(ms > 0)) return work;
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new OpenTimeoutError(`${what} took longer than ${ms} ms`));
    }, ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        if (late) value.stream.destroy();
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!late) reject(err);
      },
    );
  });
}

export interface CopyDeps {
  store: Pick<MetadataStore, 'accounts'>;
  registry: { providerFor(account: AccountRecord): StorageProvider };
  backupTarget: BackupTarget | null;
}

/**
 * Where a file's bytes can be read: the primary on its pool member (unless
 * the file was detached from a removed account, or the account is disabled —
 * then opening it fails at once and the backup takes over), and the backup
 * once it is verified (`done`) and a target is configured.
 */
export function copiesOf(file: FileRecord, deps: CopyDeps): CopySource[] {
  const { accountId, remoteId } = file;
  const sources: CopySource[] = [
    {
      name: 'primary',
      async open(range) {
        if (accountId === null || remoteId === null) throw new CopyUnavailableError('The primary copy has no storage account');
        const account = await deps.store.accounts.findById(accountId);
        if (!account) throw new CopyUnavailableError(`Storage account ${accountId} no longer exists`);
        if (!account.enabled) throw new CopyUnavailableError(`Storage account ${accountId} is disabled`);
        return deps.registry.providerFor(account).read(remoteId, range);
      },
    },
  ];
  const target = deps.backupTarget;
  if (target && file.backup.state === 'done') {
    const path = file.backup.remotePath ?? backupRemoteId(file.id);
    sources.push({ name: 'backup', open: (range) => target.readForDownload(path, range) });
  }
  return sources;
}
