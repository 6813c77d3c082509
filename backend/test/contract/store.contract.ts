import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetadataStore, UserRecord } from '../../src/store/types';

/**
 * The behaviour every MetadataStore adapter must have. Each adapter's test
 * file calls this with a factory that opens a fresh, empty store. Race tests
 * fire operations concurrently and, where the factory provides a second
 * handle on the same data (`openPeer`), split them across two "processes".
 */
export interface StoreFactory {
  open(): Promise<{ store: MetadataStore; openPeer: () => Promise<MetadataStore>; dispose: () => Promise<void> }>;
}

const GiB = 1024 ** 3;

export function describeStoreContract(name: string, factory: StoreFactory): void {
  describe(`MetadataStore contract: ${name}`, () => {
    let store: MetadataStore;
    let openPeer: () => Promise<MetadataStore>;
    let dispose: () => Promise<void>;
    const peers: MetadataStore[] = [];

    beforeEach(async () => {
      ({ store, openPeer, dispose } = await factory.open());
    });
    afterEach(async () => {
      for (const p of peers.splice(0)) await p.close();
      await dispose();
    });

    const peer = async () => {
      const p = await openPeer();
      peers.push(p);
      return p;
    };

    const newUser = (email: string, quota = 10 * GiB): Promise<UserRecord> =>
      store.users.create({ email, passwordHash: 'hash', role: 'user', storageQuota: quota });

    describe('users', () => {
      it('creates, finds by id and email, and refuses a duplicate email', async () => {
        const u = await newUser('a@example.com');
        expect(u).toMatchObject({ email: 'a@example.com', role: 'user', disabled: false, storageUsed: 0, storageQuota: 10 * GiB, googleId: null });
        expect(u.createdAt).toBeInstanceOf(Date);
        expect(await store.users.findById(u.id)).toEqual(u);
        expect(await store.users.findByEmail('a@example.com')).toEqual(u);
        expect(await store.users.findById('missing')).toBeNull();
        await expect(newUser('a@example.com')).rejects.toMatchObject({ status: 409, code: 'email_taken' });
      });

      it('updates fields, counts roles and finds by Google id', async () => {
        const u = await newUser('b@example.com');
        const updated = await store.users.update(u.id, { role: 'admin', disabled: true, googleId: 'g-1', storageQuota: 5 });
        expect(updated).toMatchObject({ role: 'admin', disabled: true, googleId: 'g-1', storageQuota: 5 });
        expect(await store.users.countByRole('admin')).toBe(1);
        expect((await store.users.findByGoogleId('g-1'))?.id).toBe(u.id);
        expect(await store.users.update('missing', { disabled: true })).toBeNull();
      });

      it('refuses to link one Google id to two users', async () => {
        const a = await newUser('g1@example.com');
        const b = await newUser('g2@example.com');
        await store.users.update(a.id, { googleId: 'same' });
        await expect(store.users.update(b.id, { googleId: 'same' })).rejects.toMatchObject({ status: 409 });
        // Users without a Google id do not collide with each other.
        await newUser('g3@example.com');
      });

      it('lists newest first with paging and an email filter', async () => {
        for (const e of ['x1@a.io', 'x2@a.io', 'y1@b.io']) await newUser(e);
        const all = await store.users.list({ offset: 0, limit: 2 });
        expect(all.total).toBe(3);
        expect(all.items).toHaveLength(2);
        const filtered = await store.users.list({ offset: 0, limit: 10, q: 'a.io' });
        expect(filtered.items.map((u) => u.email).sort()).toEqual(['x1@a.io', 'x2@a.io']);
        expect((await store.users.list({ offset: 0, limit: 10, q: '%' })).total).toBe(0);
      });

      it('reserves storage only within quota and releases never below zero', async () => {
        const u = await newUser('q@example.com', 100);
        expect(await store.users.reserveStorage(u.id, 60)).toBe(true);
        expect(await store.users.reserveStorage(u.id, 41)).toBe(false);
        expect(await store.users.reserveStorage(u.id, 40)).toBe(true);
        // A 0-byte file always fits, even at full quota and twice in a row.
        expect(await store.users.reserveStorage(u.id, 0)).toBe(true);
        expect(await store.users.reserveStorage(u.id, 0)).toBe(true);
        expect((await store.users.findById(u.id))?.storageUsed).toBe(100);
        await store.users.releaseStorage(u.id, 30);
        expect((await store.users.findById(u.id))?.storageUsed).toBe(70);
        await store.users.releaseStorage(u.id, 1000);
        expect((await store.users.findById(u.id))?.storageUsed).toBe(0);
      });

      it('never lets racing reservations exceed the quota (two handles on the same data)', async () => {
        const u = await newUser('race@example.com', 1000);
        const other = await peer();
        const attempts = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? store : other).users.reserveStorage(u.id, 70));
        const granted = (await Promise.all(attempts)).filter(Boolean).length;
        expect(granted).toBe(14); // floor(1000 / 70)
        expect((await store.users.findById(u.id))?.storageUsed).toBe(980);
      });
    });

    describe('refresh tokens', () => {
      const token = (userId: string, id: string, familyId: string, expiresAt = new Date(Date.now() + 60_000)) => ({
        id,
        familyId,
        userId,
        tokenHash: `hash-${id}`,
        createdAt: new Date(),
        expiresAt,
      });

      it('stores, marks used exactly once, and revokes a family', async () => {
        const u = await newUser('t@example.com');
        await store.refreshTokens.create(token(u.id, 't1', 'f1'));
        await store.refreshTokens.create(token(u.id, 't2', 'f1'));
        await store.refreshTokens.create(token(u.id, 't3', 'f2'));
        expect(await store.refreshTokens.findById('t1')).toMatchObject({ familyId: 'f1', userId: u.id, usedAt: null, revokedAt: null });
        expect(await store.refreshTokens.markUsed('t1', new Date())).toBe(true);
        expect(await store.refreshTokens.markUsed('t1', new Date())).toBe(false);
        expect(await store.refreshTokens.revokeFamily('f1', new Date())).toBe(2);
        expect(await store.refreshTokens.markUsed('t2', new Date())).toBe(false);
        expect((await store.refreshTokens.findById('t3'))?.revokedAt).toBeNull();
        expect(await store.refreshTokens.revokeAllForUser(u.id, new Date())).toBe(1);
      });

      it('lets exactly one of many concurrent rotations win', async () => {
        const u = await newUser('rot@example.com');
        await store.refreshTokens.create(token(u.id, 'r1', 'f'));
        const other = await peer();
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).refreshTokens.markUsed('r1', new Date())));
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('deletes expired tokens', async () => {
        const u = await newUser('exp@example.com');
        await store.refreshTokens.create(token(u.id, 'old', 'f', new Date(Date.now() - 1000)));
        await store.refreshTokens.create(token(u.id, 'new', 'f'));
        expect(await store.refreshTokens.deleteExpired(new Date())).toBe(1);
        expect(await store.refreshTokens.findById('old')).toBeNull();
        expect(await store.refreshTokens.findById('new')).not.toBeNull();
      });
    });

    describe('files', () => {
      it('creates, lists by owner with search and sort, and hides deleted files', async () => {
        const u = await newUser('f@example.com');
        const other = await newUser('g@example.com');
        const a = await store.files.create({ ownerId: u.id, name: 'Beta.txt', size: 5, mimeType: 'text/plain', accountId: null, backupState: 'disabled' });
        await store.files.create({ ownerId: u.id, name: 'alpha 50%.bin', size: 9, mimeType: 'application/octet-stream', accountId: null, backupState: 'disabled' });
        await store.files.create({ ownerId: other.id, name: 'other.txt', size: 1, mimeType: 'text/plain', accountId: null, backupState: 'disabled' });
        expect(a).toMatchObject({ state: 'pending', committed: 0, sha256: null, backup: { state: 'disabled', attempts: 0 } });

        const byName = await store.files.listByOwner({ ownerId: u.id, offset: 0, limit: 10, sort: 'name' });
        expect(byName.total).toBe(2);
        expect(byName.items.map((f) => f.name)).toEqual(['alpha 50%.bin', 'Beta.txt']);
        expect((await store.files.listByOwner({ ownerId: u.id, offset: 0, limit: 10, sort: '-size' })).items[0]?.size).toBe(9);
        expect((await store.files.listByOwner({ ownerId: u.id, offset: 0, limit: 10, q: '50%' })).items.map((f) => f.name)).toEqual(['alpha 50%.bin']);
        expect((await store.files.listByOwner({ ownerId: u.id, offset: 0, limit: 10, q: 'BETA' })).total).toBe(1);

        await store.files.update(a.id, { deletedAt: new Date() });
        expect((await store.files.listByOwner({ ownerId: u.id, offset: 0, limit: 10 })).total).toBe(1);
        expect((await store.files.findById(a.id))?.deletedAt).toBeInstanceOf(Date);
      });

      it('updates nested backup fields without touching the others', async () => {
        const u = await newUser('nb@example.com');
        const f = await store.files.create({ ownerId: u.id, name: 'n', size: 1, mimeType: 'x/y', accountId: null, backupState: 'pending' });
        const at = new Date('2026-02-03T04:05:06Z');
        const updated = await store.files.update(f.id, { sha256: 'ab', backup: { lastError: 'boom', nextAttemptAt: at } });
        expect(updated).toMatchObject({ sha256: 'ab', backup: { state: 'pending', attempts: 0, lastError: 'boom', nextAttemptAt: at } });
      });

      it('advances the committed offset only from the expected value, and transitions state conditionally', async () => {
        const u = await newUser('c@example.com');
        const f = await store.files.create({ ownerId: u.id, name: 'c', size: 10, mimeType: 'x/y', accountId: null, backupState: 'disabled' });
        expect(await store.files.advanceCommitted(f.id, 0, 4)).toBe(true);
        expect(await store.files.advanceCommitted(f.id, 0, 8)).toBe(false);
        expect(await store.files.advanceCommitted(f.id, 4, 8)).toBe(true);
        expect((await store.files.findById(f.id))?.committed).toBe(8);
        expect(await store.files.transitionState(f.id, ['complete'], 'failed')).toBe(false);
        expect(await store.files.transitionState(f.id, ['pending', 'uploading'], 'complete')).toBe(true);
        expect((await store.files.findById(f.id))?.state).toBe('complete');
        // A finished (or cancelled) upload's offset no longer moves.
        expect(await store.files.advanceCommitted(f.id, 8, 10)).toBe(false);
        // A conditional update applies only in the named states.
        expect(await store.files.update(f.id, { uploadSession: 'late' }, ['pending', 'uploading'])).toBeNull();
        expect((await store.files.findById(f.id))?.uploadSession).toBeNull();
        expect(await store.files.update(f.id, { uploadSession: 'ok' }, ['complete'])).toMatchObject({ uploadSession: 'ok' });
        expect(await store.files.update('missing', { uploadSession: 'x' }, ['complete'])).toBeNull();
      });

      it('lets one worker claim a backup; re-claims only after the lease lapses or a failure is due', async () => {
        const u = await newUser('b@example.com');
        const f = await store.files.create({ ownerId: u.id, name: 'b', size: 1, mimeType: 'x/y', accountId: null, backupState: 'pending' });
        const t0 = new Date('2026-03-01T00:00:00Z');
        const lease = new Date(t0.getTime() + 60_000);
        // An unfinished upload is not backed up.
        expect(await store.files.claimBackup(f.id, t0, lease)).toBeNull();
        await store.files.transitionState(f.id, ['pending'], 'complete');
        expect(await store.files.listBackupDue(t0, 10)).toEqual([f.id]);

        const other = await peer();
        const claims = await Promise.all([store, other, store, other].map((s) => s.files.claimBackup(f.id, t0, lease)));
        const won = claims.filter((c) => c !== null);
        expect(won).toHaveLength(1);
        expect(won[0]?.backup).toMatchObject({ state: 'running', attempts: 1, leaseUntil: lease });
        expect(await store.files.listBackupDue(t0, 10)).toEqual([]);

        const afterLease = new Date(lease.getTime() + 1);
        expect((await store.files.claimBackup(f.id, afterLease, new Date(afterLease.getTime() + 60_000)))?.backup.attempts).toBe(2);

        await store.files.update(f.id, { backup: { state: 'failed', nextAttemptAt: new Date(afterLease.getTime() + 10_000) } });
        expect(await store.files.claimBackup(f.id, afterLease, lease)).toBeNull();
        expect(await store.files.claimBackup(f.id, new Date(afterLease.getTime() + 10_000), lease)).not.toBeNull();

        await store.files.update(f.id, { backup: { state: 'done', backedUpAt: t0 } });
        expect(await store.files.countByBackupState()).toEqual({ disabled: 0, pending: 0, running: 0, done: 1, failed: 0 });
      });

      it('settles a backup only under the claim that holds it, and keeps a failure without a next attempt for an admin', async () => {
        const u = await newUser('settle@example.com');
        const f = await store.files.create({ ownerId: u.id, name: 's', size: 1, mimeType: 'x/y', accountId: null, backupState: 'pending' });
        await store.files.transitionState(f.id, ['pending'], 'complete');
        const t0 = new Date('2026-03-02T00:00:00Z');
        const lease = new Date(t0.getTime() + 1000);
        expect(await store.files.claimBackup(f.id, t0, lease)).not.toBeNull();
        const renewed = new Date(t0.getTime() + 5000);
        expect(await store.files.settleBackup(f.id, lease, { leaseUntil: renewed })).toBe(true);
        // The old lease no longer holds anything.
        expect(await store.files.settleBackup(f.id, lease, { state: 'done' })).toBe(false);
        // A failure with no next attempt (permanent, or out of attempts) is not picked up again by itself.
        expect(await store.files.settleBackup(f.id, renewed, { state: 'failed', lastError: 'denied', nextAttemptAt: null, leaseUntil: null })).toBe(true);
        const later = new Date(t0.getTime() + 3_600_000);
        expect(await store.files.claimBackup(f.id, later, new Date(later.getTime() + 1000))).toBeNull();
        expect(await store.files.listBackupDue(later, 10)).toEqual([]);
        expect((await store.files.listByBackupState({ offset: 0, limit: 10, state: 'failed' })).items.map((x) => x.id)).toEqual([f.id]);
        expect((await store.files.listByBackupState({ offset: 0, limit: 10 })).total).toBe(1);

        // An admin's retry (or a new target) makes it pending again.
        expect(await store.files.requeueBackups(['failed', 'disabled'])).toBe(1);
        expect((await store.files.findById(f.id))?.backup).toMatchObject({ state: 'pending', lastError: null, nextAttemptAt: null, attempts: 1 });
        expect(await store.files.listBackupDue(later, 10)).toEqual([f.id]);
      });

      it('lists deleted files that still have copies to remove', async () => {
        const u = await newUser('del@example.com');
        const mk = (name: string) => store.files.create({ ownerId: u.id, name, size: 1, mimeType: 'x/y', accountId: null, backupState: 'disabled' });
        const a = await mk('a');
        const b = await mk('b');
        const c = await mk('c');
        await store.files.update(a.id, { remoteId: 'r-a', deletedAt: new Date() });
        await store.files.update(b.id, { backup: { remotePath: 'objects/b' }, deletedAt: new Date() });
        await store.files.update(c.id, { deletedAt: new Date() });
        const now = new Date('2026-06-01T12:00:00Z');
        expect((await store.files.listDeletedWithCopies(now, 10)).sort()).toEqual([a.id, b.id].sort());
        await store.files.update(a.id, { remoteId: null });
        expect(await store.files.listDeletedWithCopies(now, 10)).toEqual([b.id]);
        // A backup whose worker died mid-copy may have left an object it never recorded: listed once its lease lapsed.
        await store.files.update(c.id, { backup: { state: 'running', leaseUntil: new Date(now.getTime() + 1000) } });
        expect(await store.files.listDeletedWithCopies(now, 10)).toEqual([b.id]);
        expect((await store.files.listDeletedWithCopies(new Date(now.getTime() + 2000), 10)).sort()).toEqual([b.id, c.id].sort());
      });
      it('marks a file deleted once, never while its upload is in flight, and forgets each copy once', async () => {
        const u = await newUser('md@example.com');
        const f = await store.files.create({ ownerId: u.id, name: 'm', size: 3, mimeType: 'x/y', accountId: null, backupState: 'pending' });
        const at = new Date('2026-06-01T00:00:00Z');
        // An unfinished upload is cancelled, not deleted.
        expect(await store.files.markDeleted(f.id, at)).toBeNull();
        await store.files.transitionState(f.id, ['pending'], 'complete');
        await store.files.update(f.id, { remoteId: 'r-m', backup: { remotePath: 'objects/m' } });
        const other = await peer();
        const results = await Promise.all([store, other, store, other].map((s) => s.files.markDeleted(f.id, at)));
        const won = results.filter((r) => r !== null);
        expect(won).toHaveLength(1);
        expect(won[0]).toMatchObject({ id: f.id, state: 'complete', deletedAt: at, remoteId: 'r-m' });
        expect(await store.files.markDeleted('00000000-0000-4000-8000-000000000000', at)).toBeNull();

        expect(await store.files.forgetCopy(f.id, 'primary', 'something-else')).toBe(false);
        const forgets = await Promise.all([store, other].map((s) => s.files.forgetCopy(f.id, 'primary', 'r-m')));
        expect(forgets.filter(Boolean)).toHaveLength(1);
        expect(await store.files.listDeletedWithCopies(new Date(), 10)).toEqual([f.id]);
        expect(await store.files.forgetCopy(f.id, 'backup', 'objects/m')).toBe(true);
        expect(await store.files.forgetCopy(f.id, 'backup', 'objects/m')).toBe(false);
        expect(await store.files.findById(f.id)).toMatchObject({ remoteId: null, backup: { remotePath: null, state: 'pending' } });
        expect(await store.files.listDeletedWithCopies(new Date(), 10)).toEqual([]);
      });

      it('stores upload fields, finds abandoned uploads, sums bytes placed per account, and detaches an account', async () => {
        const u = await newUser('up@example.com');
        const acct = await store.accounts.create({ provider: 'local', name: 'd', credentials: 's', quotaLimit: null, quotaUsed: 0 });
        const other = await store.accounts.create({ provider: 'local', name: 'e', credentials: 's', quotaLimit: null, quotaUsed: 0 });
        const t0 = new Date('2026-04-01T00:00:00Z');
        const at = (s: number) => new Date(t0.getTime() + s * 1000);
        const mk = (name: string, size: number, accountId: string, placedAt: Date, expires: Date) =>
          store.files.create({
            ownerId: u.id,
            name,
            size,
            mimeType: 'x/y',
            accountId,
            backupState: 'disabled',
            uploadSession: `session-${name}`,
            uploadTokenHash: `token-${name}`,
            uploadExpiresAt: expires,
            placedAt,
          });
        const a = await mk('a', 100, acct.id, at(0), at(10));
        const b = await mk('b', 200, acct.id, at(5), at(20));
        const c = await mk('c', 400, other.id, at(5), at(5));
        const old = await mk('old', 1000, acct.id, at(-100), at(1));
        expect(a).toMatchObject({ uploadSession: 'session-a', uploadTokenHash: 'token-a', uploadExpiresAt: at(10), placedAt: at(0) });

        expect((await store.files.listAbandonedUploads(at(15), 10)).sort()).toEqual([a.id, c.id, old.id].sort());
        await store.files.transitionState(old.id, ['pending'], 'complete');
        await store.files.transitionState(c.id, ['pending'], 'cancelled');
        expect((await store.files.listAbandonedUploads(at(15), 10)).sort()).toEqual([a.id]);
        expect(await store.files.listAbandonedUploads(at(15), 0)).toEqual([]);

        // Cancelled uploads do not count; deleted files still do (the provider counted their bytes).
        await store.files.update(b.id, { deletedAt: at(6) });
        expect(await store.files.placedBytesSince(at(0))).toEqual({ [acct.id]: 300 });
        expect(await store.files.placedBytesSince(at(-200))).toEqual({ [acct.id]: 1300 });

        const patched = await store.files.update(a.id, { committed: 40, uploadSession: null, uploadTokenHash: null, placedAt: at(7) });
        expect(patched).toMatchObject({ committed: 40, uploadSession: null, uploadTokenHash: null, placedAt: at(7) });

        expect(await store.files.countLiveOnAccount(acct.id)).toBe(2); // a and old; b is deleted
        expect(await store.files.countLiveOnAccount(other.id)).toBe(0);
        expect(await store.files.detachAccount(acct.id)).toBe(3);
        expect((await store.files.findById(a.id))?.accountId).toBeNull();
        expect(await store.accounts.remove(acct.id)).toBe(true);
      });
    });

    describe('accounts', () => {
      it('creates, lists, updates and removes', async () => {
        const a = await store.accounts.create({ provider: 'gdrive', name: 'one', credentials: 'sealed', quotaLimit: 100, quotaUsed: 10 });
        const b = await store.accounts.create({ provider: 'local', name: 'disk', credentials: 'sealed', quotaLimit: null, quotaUsed: 0 });
        expect(a).toMatchObject({ enabled: true, draining: false, reserved: 0, health: 'unknown', consecutiveFailures: 0, lastChosenAt: null });
        // Oldest first; two accounts created in the same millisecond may come in either order.
        const listed = await store.accounts.list();
        expect(listed.map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
        expect(listed[0]!.createdAt.getTime()).toBeLessThanOrEqual(listed[1]!.createdAt.getTime());
        const at = new Date('2026-01-02T00:00:00Z');
        expect(await store.accounts.update(a.id, { draining: true, health: 'down', lastError: 'x', lastCheckAt: at })).toMatchObject({
          draining: true,
          health: 'down',
          lastError: 'x',
          lastCheckAt: at,
        });
        expect(await store.accounts.remove(b.id)).toBe(true);
        expect(await store.accounts.remove(b.id)).toBe(false);
      });

      it('keeps a daily cap and the time of the last failure', async () => {
        const a = await store.accounts.create({ provider: 'gdrive', name: 'cap', credentials: 's', quotaLimit: 1, quotaUsed: 0, dailyCap: 750 });
        expect(a).toMatchObject({ dailyCap: 750, lastFailureAt: null });
        const at = new Date('2026-01-04T00:00:00Z');
        expect(await store.accounts.update(a.id, { dailyCap: null, lastFailureAt: at, consecutiveFailures: 2 })).toMatchObject({
          dailyCap: null,
          lastFailureAt: at,
          consecutiveFailures: 2,
        });
        const plain = await store.accounts.create({ provider: 'local', name: 'nocap', credentials: 's', quotaLimit: null, quotaUsed: 0 });
        expect(plain.dailyCap).toBeNull();
      });

      it('reserves only free space, converts and releases reservations', async () => {
        const a = await store.accounts.create({ provider: 'gdrive', name: 'q', credentials: 's', quotaLimit: 100, quotaUsed: 30 });
        const at = new Date('2026-01-03T00:00:00Z');
        expect(await store.accounts.reserve(a.id, 50, at)).toBe(true);
        expect(await store.accounts.reserve(a.id, 21, at)).toBe(false);
        expect(await store.accounts.findById(a.id)).toMatchObject({ reserved: 50, lastChosenAt: at });
        await store.accounts.commitReservation(a.id, 50);
        expect(await store.accounts.findById(a.id)).toMatchObject({ reserved: 0, quotaUsed: 80 });
        expect(await store.accounts.reserve(a.id, 20, at)).toBe(true);
        await store.accounts.freeUsed(a.id, 30);
        expect((await store.accounts.findById(a.id))?.quotaUsed).toBe(50);
        await store.accounts.freeUsed(a.id, 1000);
        expect((await store.accounts.findById(a.id))?.quotaUsed).toBe(0);
        await store.accounts.release(a.id, 500);
        expect((await store.accounts.findById(a.id))?.reserved).toBe(0);
        const unlimited = await store.accounts.create({ provider: 'local', name: 'u', credentials: 's', quotaLimit: null, quotaUsed: 0 });
        expect(await store.accounts.reserve(unlimited.id, 10 ** 15, at)).toBe(true);
      });

      it('never oversubscribes under racing reservations from two handles', async () => {
        const a = await store.accounts.create({ provider: 'gdrive', name: 'r', credentials: 's', quotaLimit: 1000, quotaUsed: 100 });
        const other = await peer();
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? store : other).accounts.reserve(a.id, 100, new Date())));
        expect(results.filter(Boolean)).toHaveLength(9);
        expect((await store.accounts.findById(a.id))?.reserved).toBe(900);
      });
    });

    describe('links', () => {
      it('creates, finds by token hash, lists by file, and revokes once', async () => {
        const u = await newUser('l@example.com');
        const f = await store.files.create({ ownerId: u.id, name: 'l', size: 1, mimeType: 'x/y', accountId: null, backupState: 'disabled' });
        const expiresAt = new Date('2027-01-01T00:00:00Z');
        const link = await store.links.create({ fileId: f.id, createdBy: u.id, tokenHash: 'th', passwordHash: null, expiresAt });
        expect(await store.links.findByTokenHash('th')).toMatchObject({ id: link.id, fileId: f.id, expiresAt, revokedAt: null });
        expect(await store.links.findByTokenHash('nope')).toBeNull();
        expect((await store.links.listByFile(f.id)).map((l) => l.id)).toEqual([link.id]);
        expect(await store.links.revoke(link.id, new Date())).toBe(true);
        expect(await store.links.revoke(link.id, new Date())).toBe(false);
        expect((await store.links.findByTokenHash('th'))?.revokedAt).toBeInstanceOf(Date);
      });
    });

    describe('audit', () => {
      it('appends and lists newest first, filtered by actor and action', async () => {
        const base = Date.parse('2026-05-01T00:00:00Z');
        await store.audit.append({ actorId: 'u1', action: 'auth.login', targetType: 'user', targetId: 'u1', ip: '127.0.0.1', details: {}, at: new Date(base) });
        await store.audit.append({ actorId: 'u2', action: 'auth.login', targetType: 'user', targetId: 'u2', ip: null, details: { via: 'google' }, at: new Date(base + 1000) });
        await store.audit.append({ actorId: null, action: 'auth.login_failed', targetType: null, targetId: null, ip: '10.0.0.1', details: { email: 'x@y.z' }, at: new Date(base + 2000) });
        const all = await store.audit.list({ offset: 0, limit: 10 });
        expect(all.total).toBe(3);
        expect(all.items.map((e) => e.action)).toEqual(['auth.login_failed', 'auth.login', 'auth.login']);
        expect(all.items[1]?.details).toEqual({ via: 'google' });
        expect((await store.audit.list({ offset: 0, limit: 10, actorId: 'u1' })).items).toHaveLength(1);
        expect((await store.audit.list({ offset: 0, limit: 1, action: 'auth.login' })).total).toBe(2);
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
