import type { PreemptReason } from './service';

/**
 * One writer per upload in this process. A client that reconnects (new socket,
 * or an HTTP PUT) takes over: the current holder is asked to stop and the
 * newcomer waits until its in-flight upstream write has settled, so two
 * writers never race on one upstream session. Across processes the store's
 * compare-and-set on the committed offset and the provider's own offset check
 * keep the bytes consistent.
 */
export class UploadLocks {
  private readonly holders = new Map<string, { released: Promise<void>; preempt: (reason: PreemptReason) => void }>();

  /**
   * Waits for the upload to be free, then holds it. `preempt` is called if a
   * later caller wants it; the holder must then stop and call the release.
   */
  async acquire(fileId: string, preempt: (reason: PreemptReason) => void): Promise<() => void> {
    for (let current = this.holders.get(fileId); current; current = this.holders.get(fileId)) {
      current.preempt('superseded');
      await current.released;
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const entry = { released, preempt };
    this.holders.set(fileId, entry);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (this.holders.get(fileId) === entry) this.holders.delete(fileId);
      release();
    };
  }

  /** Asks whoever holds the upload to stop (cancel, expiry). */
  preempt(fileId: string, reason: PreemptReason): void {
    this.holders.get(fileId)?.preempt(reason);
  }
}
