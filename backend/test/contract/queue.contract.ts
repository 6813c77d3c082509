import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JOB, type JobPayloads, type JobQueue } from '../../src/backup/queue/types';

/**
 * What every JobQueue adapter must do (backup/queue/types.ts): the in-process
 * queue and Bull on a real Redis run the same suite, so the job logic can
 * count on one behaviour whichever the deployment uses.
 */
export interface QueueFactory {
  open(): Promise<{ queue: JobQueue; dispose: () => Promise<void> }>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise with its resolve function, to hold a handler until the test lets go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

export function describeQueueContract(name: string, factory: QueueFactory): void {
  describe(`JobQueue contract: ${name}`, () => {
    let queue: JobQueue;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ queue, dispose } = await factory.open());
    });
    afterEach(async () => {
      await queue.close();
      await dispose();
    });

    it('delivers each job with its payload to the handler of its name only', async () => {
      const backups: Array<JobPayloads['backup.file']> = [];
      const deletes: Array<JobPayloads['file.delete']> = [];
      queue.process(JOB.backupFile, 2, async (payload) => {
        backups.push(payload);
      });
      queue.process(JOB.deleteFile, 2, async (payload) => {
        deletes.push(payload);
      });
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      for (const fileId of ids) await queue.enqueue(JOB.backupFile, { fileId });
      await queue.enqueue(JOB.deleteFile, { fileId: 'gone' });
      await vi.waitFor(() => expect(backups).toHaveLength(3), { timeout: 5_000, interval: 20 });
      await vi.waitFor(() => expect(deletes).toHaveLength(1), { timeout: 5_000, interval: 20 });
      expect(backups.map((p) => p.fileId).sort()).toEqual([...ids].sort());
      expect(deletes).toEqual([{ fileId: 'gone' }]);
      await queue.ping();
    });

    it('runs at most `concurrency` handlers at once, and every job eventually', async () => {
      let running = 0;
      let peak = 0;
      let hold = true;
      const waiting: Array<() => void> = [];
      const done: string[] = [];
      queue.process(JOB.backupFile, 2, async ({ fileId }) => {
        running++;
        peak = Math.max(peak, running);
        if (hold) await new Promise<void>((resolve) => waiting.push(resolve));
        running--;
        done.push(fileId);
      });
      for (let i = 0; i < 6; i++) await queue.enqueue(JOB.backupFile, { fileId: `f${i}` });
      await vi.waitFor(() => expect(running).toBe(2), { timeout: 5_000, interval: 10 });
      // With two handlers held, no third one starts.
      await sleep(150);
      expect(running).toBe(2);
      hold = false;
      for (const release of waiting.splice(0)) release();
      await vi.waitFor(() => expect(done).toHaveLength(6), { timeout: 10_000, interval: 20 });
      expect(peak).toBe(2);
    });

    it('holds a delayed job back until its time, counting it as pending meanwhile', async () => {
      const seen: number[] = [];
      queue.process(JOB.backupFile, 1, async () => {
        seen.push(Date.now());
      });
      const added = Date.now();
      await queue.enqueue(JOB.backupFile, { fileId: 'later' }, { delayMs: 400 });
      expect(await queue.pending(JOB.backupFile)).toBe(1);
      await sleep(200);
      expect(seen).toEqual([]);
      await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 5_000, interval: 20 });
      expect(seen[0]! - added).toBeGreaterThanOrEqual(390);
      await vi.waitFor(async () => expect(await queue.pending(JOB.backupFile)).toBe(0), { timeout: 2_000, interval: 20 });
    });

    it('adds a job id only once while it waits (or is delayed), and again once it has run', async () => {
      await queue.enqueue(JOB.backupFile, { fileId: 'same' });
      await queue.enqueue(JOB.backupFile, { fileId: 'same' });
      await queue.enqueue(JOB.backupFile, { fileId: 'other' }, { jobId: 'custom-id' });
      await queue.enqueue(JOB.backupFile, { fileId: 'other' }, { jobId: 'custom-id' });
      await queue.enqueue(JOB.backupFile, { fileId: 'late' }, { delayMs: 60_000 });
      await queue.enqueue(JOB.backupFile, { fileId: 'late' }, { delayMs: 60_000 });
      expect(await queue.pending(JOB.backupFile)).toBe(3);

      const seen: string[] = [];
      queue.process(JOB.backupFile, 1, async ({ fileId }) => {
        seen.push(fileId);
      });
      await vi.waitFor(() => expect(seen.sort()).toEqual(['other', 'same']), { timeout: 5_000, interval: 20 });
      // Finished jobs are gone: the same ids can be queued again, and run again.
      await queue.enqueue(JOB.backupFile, { fileId: 'same' });
      await queue.enqueue(JOB.backupFile, { fileId: 'other' }, { jobId: 'custom-id' });
      await vi.waitFor(() => expect(seen.sort()).toEqual(['other', 'other', 'same', 'same']), { timeout: 5_000, interval: 20 });
      expect(await queue.pending(JOB.backupFile)).toBe(1);
    });

    it('keeps going after a handler throws: that job is dropped, the next one runs', async () => {
      const seen: string[] = [];
      queue.process(JOB.backupFile, 1, async ({ fileId }) => {
        seen.push(fileId);
        if (fileId === 'bad') throw new Error('handler failure');
      });
      await queue.enqueue(JOB.backupFile, { fileId: 'bad' });
      await queue.enqueue(JOB.backupFile, { fileId: 'good' });
      await vi.waitFor(() => expect(seen).toEqual(['bad', 'good']), { timeout: 5_000, interval: 20 });
      // The failed job left nothing behind: its id can be queued again.
      await queue.enqueue(JOB.backupFile, { fileId: 'bad' });
      await vi.waitFor(() => expect(seen).toEqual(['bad', 'good', 'bad']), { timeout: 5_000, interval: 20 });
    });

    it('closes only after the running handlers finish, and refuses work afterwards', async () => {
      const started = gate();
      const release = gate();
      let finished = false;
      queue.process(JOB.backupFile, 1, async () => {
        started.open();
        await release.opened;
        await sleep(50);
        finished = true;
      });
      await queue.enqueue(JOB.backupFile, { fileId: 'slow' });
      await started.opened;
      let closed = false;
      const closing = queue.close().then(() => (closed = true));
      await sleep(100);
      expect(closed).toBe(false);
      release.open();
      await closing;
      expect(finished).toBe(true);
      await expect(queue.enqueue(JOB.backupFile, { fileId: 'after' })).rejects.toThrow();
      await expect(queue.ping()).rejects.toThrow();
    });
  });
}
