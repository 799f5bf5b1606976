// Store conformance, refresh token rotation (src/grants/refresh-rotation.ts): the lease that makes
// one rotation per refresh token is exclusive on every backend (one call, several connections; the
// cross-process race of insert-if-absent is in records.ts), the grace record expires with its
// window, only the lease's owner settles it, and the successor is never stored in a usable form.
import { beforeEach, describe, expect, it } from 'vitest';

import { openSuccessor, ROTATION_KIND, RotationRecords, tokenKey } from '../../../src/grants/refresh-rotation.ts';
import type { Store } from '../../../src/storage/store.ts';
import { RACERS, type StoreUnderTest } from './harness.ts';

const OLD = 'old-refresh-token-value-0123456789abcdef';
const SUCCESSOR = 'successor-refresh-token-value-0123456789';

export function describeRefreshRotation(suite: StoreUnderTest): void {
  describe('refresh rotation', () => {
    let store: Store;
    let records: RotationRecords;
    beforeEach(() => {
      store = suite.store;
      records = new RotationRecords(store, suite.clock);
    });

    it(`${RACERS} concurrent presentations of one token: exactly one holds the lease`, async () => {
      const owners = await Promise.all(Array.from({ length: RACERS }, () => records.claim(OLD, 'web')));
      expect(owners.filter(Boolean)).toHaveLength(1);
      expect(await records.read(OLD)).toMatchObject({ state: 'pending', clientId: 'web', owner: owners.find(Boolean) });
    });

    it('presentations racing over several connections: exactly one holds the lease', async (ctx) => {
      if (!suite.opened.connect) ctx.skip(`${suite.name} has no second connection`);
      const peers = (await suite.connections(5)).map((peer) => new RotationRecords(peer, suite.clock));
      const owners = await Promise.all(Array.from({ length: RACERS }, (_, i) => peers[i % peers.length]!.claim(OLD, 'web')));
      expect(owners.filter(Boolean)).toHaveLength(1);
    });

    it('a rotation is replayable inside its window only, and the token is then claimable again', async () => {
      const owner = (await records.claim(OLD, 'web'))!;
      await records.rotated(OLD, owner, 'web', SUCCESSOR, 10);
      const rotation = await records.read(OLD);
      expect(rotation).toMatchObject({ state: 'rotated', clientId: 'web' });
      if (rotation?.state !== 'rotated') throw new Error('not rotated');
      expect(openSuccessor(OLD, rotation.sealed)).toBe(SUCCESSOR);
      suite.advance(10);
      expect(records.withinGrace(rotation, 10)).toBe(true);
      suite.advance(1);
      expect(records.withinGrace(rotation, 10)).toBe(false);
      expect(await records.read(OLD)).toBeUndefined();
      expect(await records.claim(OLD, 'web')).toBeDefined();
    });

    it('recorded late (a retry after a store failure), a rotation keeps its time and expires with its window; past the window the lease is released', async () => {
      const owner = (await records.claim(OLD, 'web'))!;
      const at = suite.clock();
      suite.advance(4);
      await records.rotated(OLD, owner, 'web', SUCCESSOR, 10, at);
      expect(await records.read(OLD)).toMatchObject({ state: 'rotated', clientId: 'web', at });
      suite.advance(5);
      expect(await records.read(OLD)).toBeDefined();
      suite.advance(2);
      expect(await records.read(OLD)).toBeUndefined();

      const late = (await records.claim(OLD, 'web'))!;
      const then = suite.clock();
      suite.advance(11);
      await records.rotated(OLD, late, 'web', SUCCESSOR, 10, then);
      expect(await records.read(OLD)).toBeUndefined();
    });

    it('with no grace (strict) a rotation leaves nothing behind', async () => {
      const owner = (await records.claim(OLD, 'web'))!;
      await records.rotated(OLD, owner, 'web', SUCCESSOR, 0);
      expect(await records.read(OLD)).toBeUndefined();
    });

    it('the store holds the successor sealed under the old value, addressed by its SHA-256 digest', async () => {
      const owner = (await records.claim(OLD, 'web'))!;
      await records.rotated(OLD, owner, 'web', SUCCESSOR, 10);
      expect(await store.getRecord(ROTATION_KIND, OLD)).toBeUndefined();
      const stored = await store.getRecord<{ sealed: string }>(ROTATION_KIND, tokenKey(OLD));
      expect(JSON.stringify(stored)).not.toContain(SUCCESSOR);
      expect(JSON.stringify(stored)).not.toContain(OLD);
      expect(openSuccessor('another-token-value', stored!.value.sealed)).toBeUndefined();
    });

    it('only the lease owner settles it; a lease that ran out passes to the next presentation', async () => {
      const first = (await records.claim(OLD, 'web'))!;
      await records.release(OLD, 'not-the-owner');
      expect(await records.read(OLD)).toMatchObject({ state: 'pending', owner: first });
      suite.advance(61);
      const second = (await records.claim(OLD, 'web'))!;
      expect(second).not.toBe(first);
      await records.rotated(OLD, first, 'web', SUCCESSOR, 10);
      await records.release(OLD, first);
      expect(await records.read(OLD)).toMatchObject({ state: 'pending', owner: second });
      await records.release(OLD, second);
      expect(await records.read(OLD)).toBeUndefined();
    });
  });
}
