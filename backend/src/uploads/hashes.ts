import { createHash, type Hash } from 'node:crypto';

/**
 * SHA-256 of each upload, computed as its bytes are committed. Node's hash
 * state cannot be saved, so it lives in this process only: when an upload
 * resumes somewhere the state does not reach (after a restart, or on another
 * replica), `at` returns null and the upload is hashed by reading the stored
 * bytes back once it completes (UploadService.finalize).
 */
export class UploadHashes {
  private readonly states = new Map<string, { hash: Hash; offset: number }>();

  /** The running hash of `fileId` if it covers exactly the first `offset` bytes. */
  covers(fileId: string, offset: number): boolean {
    if (offset === 0 && !this.states.has(fileId)) this.states.set(fileId, { hash: createHash('sha256'), offset: 0 });
    return this.states.get(fileId)?.offset === offset;
  }

  /**
   * Hashes `bytes` (starting at `offset`) before the member has said how many
   * of them it keeps, so hashing overlaps the upload instead of following it.
   * The returned function settles it: called with the number of bytes kept, it
   * rolls the hash back to those when fewer were kept.
   */
  speculate(fileId: string, offset: number, bytes: Buffer): (kept: number) => void {
    if (!this.covers(fileId, offset)) {
      this.states.delete(fileId);
      return () => undefined;
    }
    const state = this.states.get(fileId)!;
    const before = state.hash.copy();
    state.hash.update(bytes);
    state.offset = offset + bytes.length;
    return (kept) => {
      if (kept >= bytes.length || this.states.get(fileId) !== state) return;
      before.update(bytes.subarray(0, Math.max(0, kept)));
      state.hash = before;
      state.offset = offset + Math.max(0, kept);
    };
  }

  /** The hex digest if the running hash covers all `size` bytes; the state is dropped either way. */
  take(fileId: string, size: number): string | null {
    const covered = this.covers(fileId, size);
    const state = this.states.get(fileId);
    this.states.delete(fileId);
    return covered && state ? state.hash.digest('hex') : null;
  }

  drop(fileId: string): void {
    this.states.delete(fileId);
  }
}
