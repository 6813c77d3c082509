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

  /** Adds bytes that start at `offset`; a gap or overlap makes the running hash useless, so it is dropped. */
  add(fileId: string, offset: number, bytes: Buffer): void {
    if (!this.covers(fileId, offset)) {
      this.states.delete(fileId);
      return;
    }
    const state = this.states.get(fileId);
    if (!state) return;
    state.hash.update(bytes);
    state.offset += bytes.length;
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
