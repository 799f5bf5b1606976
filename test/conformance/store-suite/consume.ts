// Store conformance, one-time use: consume() succeeds once per instance, records its time, and stays
// atomic when racers share one connection, several connections or several processes.
import { beforeEach, describe, expect, it } from 'vitest';

import type { Store } from '../../../src/storage/store.ts';
import { CONNECTIONS_PER_PROCESS, PROCESSES, PROCESS_RACE_TIMEOUT, RACERS, type StoreUnderTest, T0_SECONDS, winners } from './harness.ts';

export function describeConsume(suite: StoreUnderTest): void {
  const { name, advance, connections, race } = suite;

  describe('consume', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

    it('the first consume resolves true and every later one false', async () => {
      await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
      expect(await store.consume('AuthorizationCode', 'c1')).toBe(true);
      expect(await store.consume('AuthorizationCode', 'c1')).toBe(false);
      expect(await store.consume('AuthorizationCode', 'c1')).toBe(false);
    });

    it('find and findByUid report consumed as whole epoch seconds of the consume time', async () => {
      await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1', uid: 'u1' }, 60);
      expect(await store.find('AuthorizationCode', 'c1')).not.toHaveProperty('consumed');
      advance(5);
      await store.consume('AuthorizationCode', 'c1');
      advance(5);
      expect(await store.find('AuthorizationCode', 'c1')).toStrictEqual({ grantId: 'g1', uid: 'u1', consumed: T0_SECONDS + 5 });
      expect(await store.findByUid('AuthorizationCode', 'u1')).toStrictEqual({ grantId: 'g1', uid: 'u1', consumed: T0_SECONDS + 5 });
    });

    it('consume of an unknown instance resolves false and creates nothing', async () => {
      expect(await store.consume('AuthorizationCode', 'ghost')).toBe(false);
      expect(await store.find('AuthorizationCode', 'ghost')).toBeUndefined();
    });

    it('consume of an expired instance resolves false', async () => {
      await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
      advance(60);
      expect(await store.consume('AuthorizationCode', 'c1')).toBe(false);
      suite.rewind();
      expect(await store.find('AuthorizationCode', 'c1')).toStrictEqual({ grantId: 'g1' });
    });

    it('consume keeps the expiry of the instance', async () => {
      await store.upsert('RefreshToken', 'rt', { grantId: 'g1' }, 60);
      await store.consume('RefreshToken', 'rt');
      advance(60);
      expect(await store.find('RefreshToken', 'rt')).toBeUndefined();
    });

    // Contract: upsert "MUST reset `consumed` to the payload's own value". Observed on every backend
    // so far: a payload without `consumed` makes the instance consumable again; one with a number
    // stores that number as the consumed time.
    it("upsert resets consumed to the payload's own value", async () => {
      await store.upsert('RefreshToken', 'rt', { grantId: 'g1' }, 60);
      await store.consume('RefreshToken', 'rt');
      await store.upsert('RefreshToken', 'rt', { grantId: 'g1', rotated: true }, 60);
      expect(await store.find('RefreshToken', 'rt')).toStrictEqual({ grantId: 'g1', rotated: true });
      expect(await store.consume('RefreshToken', 'rt')).toBe(true);

      await store.upsert('RefreshToken', 'rt', { grantId: 'g1', consumed: 1234 }, 60);
      expect(await store.find('RefreshToken', 'rt')).toStrictEqual({ grantId: 'g1', consumed: 1234 });
      expect(await store.consume('RefreshToken', 'rt')).toBe(false);
      expect(await store.find('RefreshToken', 'rt')).toMatchObject({ consumed: 1234 });
    });

    it(`${RACERS} concurrent consumes of one instance: exactly one resolves true`, async () => {
      await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
      const results = await Promise.all(Array.from({ length: RACERS }, () => store.consume('AuthorizationCode', 'c1')));
      expect(results).toHaveLength(RACERS);
      expect(winners(results)).toBe(1);
    });

    it('consumes racing over several connections: exactly one resolves true', async (ctx) => {
      if (!suite.opened.connect) ctx.skip(`${name} has no second connection`);
      await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
      const peers = await connections(5);
      const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => peers[i % peers.length]!.consume('AuthorizationCode', 'c1')));
      expect(winners(results)).toBe(1);
    });

    it(`consumes racing from ${PROCESSES} processes x ${CONNECTIONS_PER_PROCESS} connections: exactly one wins overall`, async (ctx) => {
      if (!suite.opened.processConfig) ctx.skip(`${name} cannot be shared between processes`);
      await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
      const attempts = await race({ op: 'consume', model: 'AuthorizationCode', id: 'c1' });
      expect(attempts).toHaveLength(PROCESSES * CONNECTIONS_PER_PROCESS);
      expect(winners(attempts.map((a) => a.won))).toBe(1);
      expect(await store.consume('AuthorizationCode', 'c1')).toBe(false);
      expect(await store.find('AuthorizationCode', 'c1')).toMatchObject({ consumed: T0_SECONDS });
    }, PROCESS_RACE_TIMEOUT);
  });
}
