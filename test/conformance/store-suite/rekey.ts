// Store conformance, maintenance: listModelIds and listRecordIds list a model's or a kind's live ids, and rekey moves one instance
// to another id atomically, keeping expiry and consumed state, re-indexing by the new payload, and
// letting exactly one of several racing moves win (src/storage/store.ts).
import { beforeEach, describe, expect, it } from 'vitest';

import type { Store } from '../../../src/storage/store.ts';
import { type StoreUnderTest, RACERS, winners } from './harness.ts';

export function describeRekey(suite: StoreUnderTest): void {
  const { name, advance, connections } = suite;

  describe('listModelIds, listRecordIds and rekey', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

    it('listModelIds lists the live instances of one model, and only those', async () => {
      await store.upsert('RefreshToken', 'rt-1', { grantId: 'g1' }, 60);
      await store.upsert('RefreshToken', 'rt-2', { grantId: 'g1' });
      await store.upsert('RefreshToken', 'rt-short', { grantId: 'g1' }, 5);
      await store.upsert('RefreshTokenX', 'other-model', {}, 60);
      await store.upsert('AccessToken', 'at-1', {}, 60);
      await store.putRecord('RefreshToken', 'a-record', {});
      advance(10);
      expect((await store.listModelIds('RefreshToken')).sort()).toStrictEqual(['rt-1', 'rt-2']);
      expect(await store.listModelIds('Nothing')).toStrictEqual([]);
    });

    it('listRecordIds lists the live records of one kind, and only those', async () => {
      await store.putRecord('decision-trace', 'req-1', { n: 1 }, { expiresIn: 60 });
      await store.putRecord('decision-trace', 'req-2', { n: 2 });
      await store.putRecord('decision-trace', 'req:colon*glob?', { n: 3 });
      await store.putRecord('decision-trace', 'req-short', { n: 4 }, { expiresIn: 5 });
      await store.putRecord('decision-trace', 'req-deleted', { n: 5 });
      await store.deleteRecord('decision-trace', 'req-deleted');
      await store.putRecord('decision-traceX', 'other-kind', {});
      await store.putRecord('decision', 'trace-prefix', {});
      await store.upsert('decision-trace', 'a-model', {}, 60);
      advance(10);
      expect((await store.listRecordIds('decision-trace')).sort()).toStrictEqual(['req-1', 'req-2', 'req:colon*glob?']);
      expect(await store.listRecordIds('nothing')).toStrictEqual([]);
    });

    it('listRecordIds lists each of many records once', async () => {
      const ids = Array.from({ length: 1200 }, (_, i) => `r-${i}`);
      for (let i = 0; i < ids.length; i += 100) await Promise.all(ids.slice(i, i + 100).map((id) => store.putRecord('many', id, { id })));
      const listed = await store.listRecordIds('many');
      expect(listed).toHaveLength(ids.length);
      expect(new Set(listed)).toStrictEqual(new Set(ids));
    });

    it('rekey moves payload, expiry, consumed state and every index to the new id', async () => {
      await store.upsert('DeviceCode', 'old', { grantId: 'g1', uid: 'u1', userCode: 'ABCD', v: 1 }, 60);
      expect(await store.consume('DeviceCode', 'old')).toBe(true);
      expect(await store.rekey('DeviceCode', 'old', 'new', { grantId: 'g2', uid: 'u2', userCode: 'WXYZ', v: 2 })).toBe(true);

      expect(await store.find('DeviceCode', 'old')).toBeUndefined();
      const moved = await store.find('DeviceCode', 'new');
      expect(moved).toMatchObject({ grantId: 'g2', uid: 'u2', userCode: 'WXYZ', v: 2 });
      expect(typeof moved?.consumed).toBe('number');
      expect(await store.consume('DeviceCode', 'new')).toBe(false);
      expect(await store.findByUid('DeviceCode', 'u1')).toBeUndefined();
      expect(await store.findByUserCode('DeviceCode', 'ABCD')).toBeUndefined();
      expect(await store.findByUid('DeviceCode', 'u2')).toMatchObject({ v: 2 });
      expect(await store.findByUserCode('DeviceCode', 'WXYZ')).toMatchObject({ v: 2 });
      expect(await store.listModelIds('DeviceCode')).toStrictEqual(['new']);

      await store.revokeByGrantId('DeviceCode', 'g1');
      expect(await store.find('DeviceCode', 'new')).toBeDefined();
      await store.revokeByGrantId('DeviceCode', 'g2');
      expect(await store.find('DeviceCode', 'new')).toBeUndefined();
    });

    it('a moved instance keeps its expiry and an unconsumed one stays consumable once', async () => {
      await store.upsert('AuthorizationCode', 'old', { grantId: 'g1' }, 60);
      advance(30);
      expect(await store.rekey('AuthorizationCode', 'old', 'new', { grantId: 'g1' })).toBe(true);
      expect(await store.find('AuthorizationCode', 'new')).toStrictEqual({ grantId: 'g1' });
      advance(29);
      expect(await store.consume('AuthorizationCode', 'new')).toBe(true);
      expect(await store.consume('AuthorizationCode', 'new')).toBe(false);
      advance(2);
      expect(await store.find('AuthorizationCode', 'new')).toBeUndefined();
      expect(await store.listModelIds('AuthorizationCode')).toStrictEqual([]);
    });

    it('a payload that cannot be encoded is refused and leaves the instance where it was', async () => {
      await store.upsert('RefreshToken', 'a', { uid: 'u1', v: 'a' }, 60);
      await expect(store.rekey('RefreshToken', 'a', 'b', { uid: 'u1', v: 1n } as unknown as Record<string, unknown>)).rejects.toThrow();
      expect(await store.find('RefreshToken', 'a')).toStrictEqual({ uid: 'u1', v: 'a' });
      expect(await store.find('RefreshToken', 'b')).toBeUndefined();
      expect(await store.findByUid('RefreshToken', 'u1')).toStrictEqual({ uid: 'u1', v: 'a' });
    });

    it('nothing moves from an absent or expired id, or onto an id already in use', async () => {
      expect(await store.rekey('RefreshToken', 'absent', 'new', {})).toBe(false);
      await store.upsert('RefreshToken', 'short', { v: 'short' }, 5);
      advance(10);
      expect(await store.rekey('RefreshToken', 'short', 'new', {})).toBe(false);
      expect(await store.find('RefreshToken', 'new')).toBeUndefined();

      await store.upsert('RefreshToken', 'a', { v: 'a' }, 60);
      await store.upsert('RefreshToken', 'b', { v: 'b' }, 60);
      expect(await store.rekey('RefreshToken', 'a', 'b', { v: 'moved' })).toBe(false);
      expect(await store.find('RefreshToken', 'a')).toStrictEqual({ v: 'a' });
      expect(await store.find('RefreshToken', 'b')).toStrictEqual({ v: 'b' });
    });

    it(`${RACERS} concurrent moves of one instance over several connections: exactly one wins`, async (ctx) => {
      if (!suite.opened.connect) ctx.skip(`${name} has no second connection`);
      await store.upsert('RefreshToken', 'old', { grantId: 'g1' }, 60);
      const peers = await connections(4);
      const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => peers[i % peers.length]!.rekey('RefreshToken', 'old', `new-${i % 3}`, { grantId: 'g1', by: i })));
      expect(winners(results)).toBe(1);
      expect(await store.listModelIds('RefreshToken')).toHaveLength(1);
    });
  });
}
