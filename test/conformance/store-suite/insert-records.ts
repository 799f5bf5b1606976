// Store conformance, insertRecords: many records of one kind written insert-if-absent in one call
// (decision traces), each entry behaving exactly like putRecord with expectedVersion 0: a live
// record is left alone, an expired one is taken over, a repeated id in the same batch loses, and
// batches racing over several connections give every id exactly one winner.
import { beforeEach, describe, expect, it } from 'vitest';

import type { Store } from '../../../src/storage/store.ts';
import type { StoreUnderTest } from './harness.ts';

/** An insertRecords entry: the value as its JSON text, as the caller hands it over. */
const entry = (id: string, value: unknown) => ({ id, json: JSON.stringify(value) });

export function describeInsertRecords(suite: StoreUnderTest): void {
  const { name, advance, connections } = suite;

  describe('insertRecords', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

    it('writes every new record at version 1 with the expiry, and answers true for each', async () => {
      const written = await store.insertRecords('trace', [entry('a', { n: 1 }), entry('b', { n: 2 }), entry('c', { n: 3 })], 60);
      expect(written).toStrictEqual([true, true, true]);
      for (const [id, n] of [['a', 1], ['b', 2], ['c', 3]] as const) expect(await store.getRecord('trace', id)).toStrictEqual({ value: { n }, version: 1 });
      advance(59);
      expect(await store.getRecord('trace', 'b')).toBeDefined();
      advance(1);
      for (const id of ['a', 'b', 'c']) expect(await store.getRecord('trace', id)).toBeUndefined();
      expect(await store.listRecordIds('trace')).toStrictEqual([]);
    });

    it('without an expiry the records stay', async () => {
      expect(await store.insertRecords('trace', [entry('kept', 'x')])).toStrictEqual([true]);
      advance(10 * 365 * 86_400);
      expect(await store.getRecord('trace', 'kept')).toStrictEqual({ value: 'x', version: 1 });
    });

    it('leaves a live record alone (false) and takes over an expired one (true, version 1)', async () => {
      await store.putRecord('trace', 'live', { first: true });
      await store.putRecord('trace', 'live', { first: false });
      await store.putRecord('trace', 'stale', { old: true }, { expiresIn: 5 });
      advance(5);
      const written = await store.insertRecords('trace', [entry('live', { intruder: true }), entry('stale', { fresh: true }), entry('new', 1)], 60);
      expect(written).toStrictEqual([false, true, true]);
      expect(await store.getRecord('trace', 'live')).toStrictEqual({ value: { first: false }, version: 2 });
      expect(await store.getRecord('trace', 'stale')).toStrictEqual({ value: { fresh: true }, version: 1 });
      // The live record's expiry did not move either.
      advance(10 * 365 * 86_400);
      expect(await store.getRecord('trace', 'live')).toStrictEqual({ value: { first: false }, version: 2 });
    });

    it('of one id repeated in a batch, the first entry is written and the later ones answer false', async () => {
      const written = await store.insertRecords('trace', [entry('twice', 'first'), entry('other', 'o'), entry('twice', 'second')], 60);
      expect(written).toStrictEqual([true, true, false]);
      expect(await store.getRecord('trace', 'twice')).toStrictEqual({ value: 'first', version: 1 });
    });

    it('an empty batch writes nothing', async () => {
      expect(await store.insertRecords('trace', [], 60)).toStrictEqual([]);
      expect(await store.listRecordIds('trace')).toStrictEqual([]);
    });

    it('values of every JSON shape round-trip; kinds stay separate', async () => {
      const values: unknown[] = [{ a: { b: [1, 'two', null, false] } }, [1, [2, [3]]], 'text ✓', 42, 0.5, true, false, null];
      await store.putRecord('other-kind', '0', 'not a trace');
      expect(await store.insertRecords('trace', values.map((value, i) => entry(String(i), value)))).toStrictEqual(values.map(() => true));
      for (const [i, value] of values.entries()) expect(await store.getRecord('trace', String(i))).toStrictEqual({ value, version: 1 });
      expect(await store.getRecord('other-kind', '0')).toStrictEqual({ value: 'not a trace', version: 1 });
    });

    it('a batch of 1,000 records lands whole, each listed once', async () => {
      const records = Array.from({ length: 1000 }, (_, i) => entry(`req-${i}`, { i, claims: ['a', 'b'] }));
      expect((await store.insertRecords('trace', records, 600)).every(Boolean)).toBe(true);
      expect(new Set(await store.listRecordIds('trace'))).toStrictEqual(new Set(records.map((r) => r.id)));
    });

    it('overlapping batches racing over several connections: every id has exactly one winner', async (ctx) => {
      if (!suite.opened.connect) ctx.skip(`${name} has no second connection`);
      const peers = await connections(4);
      const ids = Array.from({ length: 40 }, (_, i) => `shared-${i}`);
      const answers = await Promise.all(peers.map((peer, p) => peer.insertRecords('trace', ids.map((id) => entry(id, { writer: p })), 60)));
      for (const [i, id] of ids.entries()) {
        const winners = answers.map((written) => written[i]).filter(Boolean).length;
        expect(winners, id).toBe(1);
        const winner = answers.findIndex((written) => written[i]);
        expect(await store.getRecord('trace', id)).toStrictEqual({ value: { writer: winner }, version: 1 });
      }
    });
  });
}
