// Store conformance, records: versioned values, compare-and-set and insert-if-absent, expiry and delete,
// with exactly one winner when writers race on one connection, several connections or several processes.
import { beforeEach, describe, expect, it } from 'vitest';

import type { Store } from '../../../src/storage/store.ts';
import { CONNECTIONS_PER_PROCESS, PROCESSES, PROCESS_RACE_TIMEOUT, RACERS, type StoreUnderTest, winners } from './harness.ts';

export function describeRecords(suite: StoreUnderTest): void {
  const { name, advance, connections, race } = suite;

  describe('records', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

    it('putRecord inserts at version 1 and each write adds one', async () => {
      expect(await store.getRecord('keys', 'current')).toBeUndefined();
      expect(await store.putRecord('keys', 'current', { v: 'a' })).toBe(true);
      expect(await store.getRecord('keys', 'current')).toStrictEqual({ value: { v: 'a' }, version: 1 });
      expect(await store.putRecord('keys', 'current', { v: 'b' })).toBe(true);
      expect(await store.putRecord('keys', 'current', { v: 'c', list: [1, { deep: true }] })).toBe(true);
      expect(await store.getRecord('keys', 'current')).toStrictEqual({ value: { v: 'c', list: [1, { deep: true }] }, version: 3 });
    });

    it('record values of every JSON shape round-trip', async () => {
      const values: unknown[] = [{ a: { b: [1, 'two', null, false] } }, [1, [2, [3]]], 'text ✓', 42, 0.5, true, false, null];
      for (const [i, value] of values.entries()) await store.putRecord('shape', String(i), value);
      for (const [i, value] of values.entries()) expect(await store.getRecord('shape', String(i))).toStrictEqual({ value, version: 1 });
    });

    it('record kinds are namespaced and separate from models', async () => {
      await store.putRecord('account', 'x', 'account-x');
      await store.putRecord('vault', 'x', 'vault-x');
      await store.upsert('account', 'x', { model: true });
      expect(await store.getRecord('account', 'x')).toStrictEqual({ value: 'account-x', version: 1 });
      expect(await store.getRecord('vault', 'x')).toStrictEqual({ value: 'vault-x', version: 1 });
      await store.deleteRecord('account', 'x');
      expect(await store.getRecord('vault', 'x')).toStrictEqual({ value: 'vault-x', version: 1 });
      expect(await store.find('account', 'x')).toStrictEqual({ model: true });
    });

    it('compare-and-set with the current version writes and bumps the version', async () => {
      await store.putRecord('keys', 'k', 'v1');
      expect(await store.putRecord('keys', 'k', 'v2', { expectedVersion: 1 })).toBe(true);
      expect(await store.putRecord('keys', 'k', 'v3', { expectedVersion: 2 })).toBe(true);
      expect(await store.getRecord('keys', 'k')).toStrictEqual({ value: 'v3', version: 3 });
    });

    it('compare-and-set with a stale, future or absent-only version resolves false and writes nothing', async () => {
      await store.putRecord('keys', 'k', 'v1', { expiresIn: 100 });
      await store.putRecord('keys', 'k', 'v2', { expiresIn: 100 });
      for (const expectedVersion of [0, 1, 3, 99]) {
        expect(await store.putRecord('keys', 'k', `bad-${expectedVersion}`, { expectedVersion })).toBe(false);
      }
      expect(await store.putRecord('keys', 'missing', 'x', { expectedVersion: 1 })).toBe(false);
      expect(await store.getRecord('keys', 'missing')).toBeUndefined();
      expect(await store.getRecord('keys', 'k')).toStrictEqual({ value: 'v2', version: 2 });
      // Not even the expiry moved: the failed writes asked for no expiry.
      advance(100);
      expect(await store.getRecord('keys', 'k')).toBeUndefined();
    });

    it('expectedVersion 0 inserts only when the record is absent', async () => {
      expect(await store.putRecord('lock', 'l', 'first', { expectedVersion: 0 })).toBe(true);
      expect(await store.putRecord('lock', 'l', 'second', { expectedVersion: 0 })).toBe(false);
      expect(await store.getRecord('lock', 'l')).toStrictEqual({ value: 'first', version: 1 });
    });

    it('a record is found until it expires; rewriting without expiresIn makes it permanent', async () => {
      await store.putRecord('replay', 'r', 'a', { expiresIn: 30 });
      advance(29.999);
      expect(await store.getRecord('replay', 'r')).toStrictEqual({ value: 'a', version: 1 });
      advance(0.001);
      expect(await store.getRecord('replay', 'r')).toBeUndefined();

      await store.putRecord('replay', 'p', 'a', { expiresIn: 30 });
      await store.putRecord('replay', 'p', 'b');
      advance(365 * 24 * 3600);
      expect(await store.getRecord('replay', 'p')).toStrictEqual({ value: 'b', version: 2 });
    });

    it('an expired record counts as absent for compare-and-set and restarts at version 1', async () => {
      await store.putRecord('replay', 'r', 'old', { expiresIn: 10 });
      await store.putRecord('replay', 'r', 'old2', { expiresIn: 10 });
      advance(10);
      expect(await store.putRecord('replay', 'r', 'stale', { expectedVersion: 2 })).toBe(false);
      expect(await store.putRecord('replay', 'r', 'new', { expectedVersion: 0 })).toBe(true);
      expect(await store.getRecord('replay', 'r')).toStrictEqual({ value: 'new', version: 1 });
    });

    it('deleteRecord removes the record, and a later insert restarts at version 1', async () => {
      await store.putRecord('account', 'a', 'x');
      await store.putRecord('account', 'a', 'y');
      await store.putRecord('account', 'b', 'keep');
      await store.deleteRecord('account', 'a');
      expect(await store.getRecord('account', 'a')).toBeUndefined();
      expect(await store.getRecord('account', 'b')).toStrictEqual({ value: 'keep', version: 1 });
      await expect(store.deleteRecord('account', 'a')).resolves.toBeUndefined();
      expect(await store.putRecord('account', 'a', 'z', { expectedVersion: 0 })).toBe(true);
      expect(await store.getRecord('account', 'a')).toStrictEqual({ value: 'z', version: 1 });
    });

    it(`${RACERS} concurrent compare-and-set writers on the current version: exactly one wins`, async () => {
      await store.putRecord('keys', 'k', { writer: 'initial' });
      await store.putRecord('keys', 'k', { writer: 'second' });
      const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.putRecord('keys', 'k', { writer: i }, { expectedVersion: 2 })));
      expect(winners(results)).toBe(1);
      expect(await store.getRecord('keys', 'k')).toStrictEqual({ value: { writer: results.indexOf(true) }, version: 3 });
    });

    it(`${RACERS} concurrent insert-if-absent writers: exactly one wins`, async () => {
      const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.putRecord('lock', 'l', { writer: i }, { expectedVersion: 0 })));
      expect(winners(results)).toBe(1);
      expect(await store.getRecord('lock', 'l')).toStrictEqual({ value: { writer: results.indexOf(true) }, version: 1 });
    });

    it('compare-and-set writers racing over several connections: exactly one wins', async (ctx) => {
      if (!suite.opened.connect) ctx.skip(`${name} has no second connection`);
      await store.putRecord('keys', 'k', { writer: 'initial' });
      const peers = await connections(5);
      const cas = await Promise.all(
        Array.from({ length: RACERS }, (_, i) => peers[i % peers.length]!.putRecord('keys', 'k', { writer: i }, { expectedVersion: 1 })),
      );
      expect(winners(cas)).toBe(1);
      expect(await store.getRecord('keys', 'k')).toStrictEqual({ value: { writer: cas.indexOf(true) }, version: 2 });
      const insert = await Promise.all(
        Array.from({ length: RACERS }, (_, i) => peers[i % peers.length]!.putRecord('lock', 'l', { writer: i }, { expectedVersion: 0 })),
      );
      expect(winners(insert)).toBe(1);
      expect(await store.getRecord('lock', 'l')).toStrictEqual({ value: { writer: insert.indexOf(true) }, version: 1 });
    });

    it(`compare-and-set writers racing from ${PROCESSES} processes: exactly one wins, and its value is stored`, async (ctx) => {
      if (!suite.opened.processConfig) ctx.skip(`${name} cannot be shared between processes`);
      await store.putRecord('keys', 'k', { writer: 'initial' });
      await store.putRecord('keys', 'k', { writer: 'second' });
      const attempts = await race({ op: 'putRecord', kind: 'keys', id: 'k', expectedVersion: 2 });
      expect(attempts).toHaveLength(PROCESSES * CONNECTIONS_PER_PROCESS);
      const won = attempts.filter((a) => a.won);
      expect(won).toHaveLength(1);
      expect(await store.getRecord('keys', 'k')).toStrictEqual({ value: { writer: won[0]!.tag }, version: 3 });
    }, PROCESS_RACE_TIMEOUT);

    it(`insert-if-absent writers racing from ${PROCESSES} processes: exactly one wins, and its value is stored`, async (ctx) => {
      if (!suite.opened.processConfig) ctx.skip(`${name} cannot be shared between processes`);
      const attempts = await race({ op: 'putRecord', kind: 'lock', id: 'l', expectedVersion: 0 });
      const won = attempts.filter((a) => a.won);
      expect(won).toHaveLength(1);
      expect(await store.getRecord('lock', 'l')).toStrictEqual({ value: { writer: won[0]!.tag }, version: 1 });
    }, PROCESS_RACE_TIMEOUT);
  });
}
