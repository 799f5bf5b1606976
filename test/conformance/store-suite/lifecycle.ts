// Store conformance, lifecycle: what a persistent backend keeps across close and reopen, and that every
// operation rejects once a store is closed.
import { beforeEach, describe, expect, it } from 'vitest';

import type { Store } from '../../../src/storage/store.ts';
import { type StoreUnderTest, T0_SECONDS } from './harness.ts';

export function describeLifecycle(suite: StoreUnderTest): void {
  const { name, advance, reopen } = suite;

  describe('persistence', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

    it('models, records, consumed state and expiry survive close and reopen', async (ctx) => {
      if (!suite.opened.reopen) ctx.skip(`${name} does not persist`);
      await store.upsert('Session', 's1', { uid: 'u1', accountId: 'alice', nested: { list: [1, 2] } });
      await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
      await store.upsert('DeviceCode', 'd1', { userCode: 'UC-1', grantId: 'g1' }, 600);
      await store.consume('AuthorizationCode', 'c1');
      await store.putRecord('keys', 'k', 'v1');
      await store.putRecord('keys', 'k', 'v2');

      const reopened = await reopen();
      expect(await reopened.findByUid('Session', 'u1')).toStrictEqual({ uid: 'u1', accountId: 'alice', nested: { list: [1, 2] } });
      expect(await reopened.find('AuthorizationCode', 'c1')).toStrictEqual({ grantId: 'g1', consumed: T0_SECONDS });
      expect(await reopened.consume('AuthorizationCode', 'c1')).toBe(false);
      expect(await reopened.findByUserCode('DeviceCode', 'UC-1')).toStrictEqual({ userCode: 'UC-1', grantId: 'g1' });
      expect(await reopened.getRecord('keys', 'k')).toStrictEqual({ value: 'v2', version: 2 });
      expect(await reopened.putRecord('keys', 'k', 'v3', { expectedVersion: 2 })).toBe(true);
      await reopened.revokeByGrantId('DeviceCode', 'g1');
      expect(await reopened.find('DeviceCode', 'd1')).toBeUndefined();
      advance(60);
      expect(await reopened.find('AuthorizationCode', 'c1')).toBeUndefined();
      expect(await reopened.find('Session', 's1')).toBeDefined();
    });

    it('a second reopen still sees the data written after the first', async (ctx) => {
      if (!suite.opened.reopen) ctx.skip(`${name} does not persist`);
      await store.putRecord('keys', 'k', 'v1');
      await (await reopen()).putRecord('keys', 'k', 'v2', { expectedVersion: 1 });
      expect(await (await reopen()).getRecord('keys', 'k')).toStrictEqual({ value: 'v2', version: 2 });
    });
  });

  describe('close', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

    it('ping resolves while open', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('every operation after close rejects', async () => {
      await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1', uid: 'u1', userCode: 'UC' });
      await store.putRecord('keys', 'k', 'v');
      await store.close();
      const operations: Record<string, () => Promise<unknown>> = {
        upsert: () => store.upsert('AuthorizationCode', 'c2', {}),
        find: () => store.find('AuthorizationCode', 'c1'),
        findByUid: () => store.findByUid('AuthorizationCode', 'u1'),
        findByUserCode: () => store.findByUserCode('AuthorizationCode', 'UC'),
        consume: () => store.consume('AuthorizationCode', 'c1'),
        destroy: () => store.destroy('AuthorizationCode', 'c1'),
        revokeByGrantId: () => store.revokeByGrantId('AuthorizationCode', 'g1'),
        getRecord: () => store.getRecord('keys', 'k'),
        putRecord: () => store.putRecord('keys', 'k', 'w'),
        deleteRecord: () => store.deleteRecord('keys', 'k'),
        collectExpired: () => store.collectExpired(),
        ping: () => store.ping(),
      };
      const outcomes = await Promise.all(
        Object.entries(operations).map(async ([op, run]) => {
          // A synchronous throw is a contract breach too ("calls after close reject"), so it is not caught here.
          const promise = run();
          return [op, await promise.then(() => 'resolved', () => 'rejected')] as const;
        }),
      );
      expect(Object.fromEntries(outcomes)).toStrictEqual(Object.fromEntries(Object.keys(operations).map((op) => [op, 'rejected'])));
    });
  });
}
