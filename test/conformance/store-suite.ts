// The storage conformance suite: what every Store backend (memory, SQLite, later PostgreSQL and
// Redis) must do, per the contract in src/storage/store.ts. A backend joins by calling
// describeStoreConformance() from test/conformance/storage.test.ts; time is an injected clock.
import { errors } from 'oidc-provider';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createAdapter } from '../../src/provider/adapter.ts';
import type { Clock, ModelPayload, Store } from '../../src/storage/store.ts';
import { type Attempt, type RaceOp, type StorageConfig, raceAcrossProcesses } from './process-race.ts';

export interface OpenedStore {
  readonly store: Store;
  /**
   * Opens a new Store on the same data with the same clock, after the suite has closed `store`.
   * Persistent backends only: the persistence tests are skipped without it.
   */
  readonly reopen?: () => Promise<Store>;
  /** Opens another, independent connection to the same data; cross-connection races are skipped without it. */
  readonly connect?: () => Promise<Store>;
  /** The storage config a child process passes to openStore() to reach the same data; cross-process races are skipped without it. */
  readonly processConfig?: StorageConfig;
  /** Closes whatever is still open and removes the backend's data (files, schemas, keys). */
  readonly cleanup: () => Promise<void>;
}

export type OpenStore = (clock: Clock) => Promise<OpenedStore>;

/** 2030-01-01T00:00:00.123Z: a fixed start with a sub-second part, so `consumed` must be floored. */
const T0 = Date.UTC(2030, 0, 1) + 123;
const T0_SECONDS = Math.floor(T0 / 1000);
const RACERS = 50;
const PROCESSES = 4;
const CONNECTIONS_PER_PROCESS = 4;
/** Child processes boot tsx; give them room on a loaded CI machine. */
export const PROCESS_RACE_TIMEOUT = 60_000;

export function describeStoreConformance(name: string, open: OpenStore): void {
  describe(`Store conformance: ${name}`, () => {
    let now = T0;
    const clock: Clock = () => now;
    /** Moves the injected clock; nothing in this suite sleeps for expiry. */
    const advance = (seconds: number) => {
      now += seconds * 1000;
    };
    let opened: OpenedStore;
    let store: Store;
    const stores: Store[] = [];

    beforeEach(async () => {
      now = T0;
      opened = await open(clock);
      store = opened.store;
      stores.push(store);
    });

    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close().catch(() => undefined);
      await opened.cleanup();
    });

    async function connections(count: number): Promise<Store[]> {
      const peers = [store];
      for (let i = 1; i < count; i += 1) {
        const peer = await opened.connect!();
        stores.push(peer);
        peers.push(peer);
      }
      return peers;
    }

    async function reopen(): Promise<Store> {
      await store.close();
      store = await opened.reopen!();
      stores.push(store);
      return store;
    }

    function race(op: RaceOp): Promise<Attempt[]> {
      return raceAcrossProcesses({ config: opened.processConfig!, now, processes: PROCESSES, connectionsPerProcess: CONNECTIONS_PER_PROCESS, op });
    }

    const winners = (results: readonly boolean[]) => results.filter(Boolean).length;

    describe('models', () => {
      it('find returns the upserted payload deeply, nested objects and arrays included', async () => {
        const payload = {
          accountId: 'alice',
          grantId: 'g1',
          scope: 'openid profile',
          claims: { id_token: { email: { essential: true } }, userinfo: null },
          resources: ['https://api.example.com', { nested: [1, 2.5, -3, [true, false, null]] }],
          empty: {},
          none: [],
          text: 'héllo ✓ "quoted" \\ \n line',
          zero: 0,
        };
        await store.upsert('AuthorizationCode', 'code-1', payload, 60);
        expect(await store.find('AuthorizationCode', 'code-1')).toStrictEqual(payload);
      });

      it('keeps its own copy: mutating the input or a returned payload changes nothing stored', async () => {
        const payload = { grantId: 'g1', list: [1, 2], nested: { a: 1 } };
        await store.upsert('Grant', 'g1', payload);
        payload.list.push(3);
        payload.nested.a = 2;
        const found = (await store.find('Grant', 'g1')) as { list: number[]; nested: { a: number } };
        expect(found).toStrictEqual({ grantId: 'g1', list: [1, 2], nested: { a: 1 } });
        found.list.push(4);
        found.nested.a = 3;
        expect(await store.find('Grant', 'g1')).toStrictEqual({ grantId: 'g1', list: [1, 2], nested: { a: 1 } });
      });

      it('find, findByUid and findByUserCode of unknown keys resolve undefined', async () => {
        await store.upsert('Session', 's1', { uid: 'u1' });
        expect(await store.find('Session', 'nope')).toBeUndefined();
        expect(await store.find('NoSuchModel', 's1')).toBeUndefined();
        expect(await store.findByUid('Session', 'nope')).toBeUndefined();
        expect(await store.findByUserCode('DeviceCode', 'nope')).toBeUndefined();
      });

      it('findByUid and findByUserCode return the payload carrying that value', async () => {
        await store.upsert('Session', 's1', { uid: 'u1', accountId: 'alice' });
        await store.upsert('Session', 's2', { uid: 'u2', accountId: 'bob' });
        await store.upsert('DeviceCode', 'd1', { userCode: 'ABCD-EFGH', grantId: 'g1' });
        await store.upsert('DeviceCode', 'd2', { userCode: 'WXYZ-1234', grantId: 'g2' });
        expect(await store.findByUid('Session', 'u2')).toStrictEqual({ uid: 'u2', accountId: 'bob' });
        expect(await store.findByUserCode('DeviceCode', 'ABCD-EFGH')).toStrictEqual({ userCode: 'ABCD-EFGH', grantId: 'g1' });
      });

      it('upsert replaces the payload and its uid, userCode and grantId indexes', async () => {
        await store.upsert('Session', 's1', { uid: 'u-old', grantId: 'g-old', extra: true });
        await store.upsert('Session', 's1', { uid: 'u-new', v: 2 });
        expect(await store.find('Session', 's1')).toStrictEqual({ uid: 'u-new', v: 2 });
        expect(await store.findByUid('Session', 'u-old')).toBeUndefined();
        expect(await store.findByUid('Session', 'u-new')).toStrictEqual({ uid: 'u-new', v: 2 });
        await store.revokeByGrantId('Session', 'g-old');
        expect(await store.find('Session', 's1')).toStrictEqual({ uid: 'u-new', v: 2 });

        await store.upsert('DeviceCode', 'd1', { userCode: 'OLD-CODE' });
        await store.upsert('DeviceCode', 'd1', { userCode: 'NEW-CODE' });
        expect(await store.findByUserCode('DeviceCode', 'OLD-CODE')).toBeUndefined();
        expect(await store.findByUserCode('DeviceCode', 'NEW-CODE')).toStrictEqual({ userCode: 'NEW-CODE' });
      });

      it('models are namespaced: the same id or uid in two models is independent', async () => {
        await store.upsert('AccessToken', 'same', { grantId: 'g1', kind: 'access', uid: 'u1' });
        await store.upsert('RefreshToken', 'same', { grantId: 'g1', kind: 'refresh' });
        expect(await store.find('AccessToken', 'same')).toMatchObject({ kind: 'access' });
        expect(await store.find('RefreshToken', 'same')).toMatchObject({ kind: 'refresh' });
        expect(await store.findByUid('RefreshToken', 'u1')).toBeUndefined();

        expect(await store.consume('RefreshToken', 'same')).toBe(true);
        expect(await store.find('AccessToken', 'same')).not.toHaveProperty('consumed');
        expect(await store.consume('AccessToken', 'same')).toBe(true);

        await store.destroy('AccessToken', 'same');
        expect(await store.find('AccessToken', 'same')).toBeUndefined();
        expect(await store.find('RefreshToken', 'same')).toMatchObject({ kind: 'refresh' });
      });
    });

    describe('expiry', () => {
      it('a model is found until the instant it expires and not from then on', async () => {
        await store.upsert('AccessToken', 'at', { grantId: 'g1' }, 60);
        advance(59.999);
        expect(await store.find('AccessToken', 'at')).toStrictEqual({ grantId: 'g1' });
        advance(0.001);
        expect(await store.find('AccessToken', 'at')).toBeUndefined();
        advance(3600);
        expect(await store.find('AccessToken', 'at')).toBeUndefined();
      });

      it('a model upserted without expiresIn never expires', async () => {
        await store.upsert('Client', 'c1', { client_id: 'c1' });
        advance(10 * 365 * 24 * 3600);
        expect(await store.find('Client', 'c1')).toStrictEqual({ client_id: 'c1' });
      });

      it('upsert re-arms expiry from the time of the new write', async () => {
        await store.upsert('Session', 's1', { uid: 'u1', v: 1 }, 10);
        advance(5);
        await store.upsert('Session', 's1', { uid: 'u1', v: 2 }, 10);
        advance(9);
        expect(await store.find('Session', 's1')).toStrictEqual({ uid: 'u1', v: 2 });
        advance(1);
        expect(await store.find('Session', 's1')).toBeUndefined();
      });

      it('findByUid and findByUserCode ignore expired instances', async () => {
        await store.upsert('Session', 's1', { uid: 'u1' }, 30);
        await store.upsert('DeviceCode', 'd1', { userCode: 'UC-1' }, 30);
        advance(29);
        expect(await store.findByUid('Session', 'u1')).toStrictEqual({ uid: 'u1' });
        expect(await store.findByUserCode('DeviceCode', 'UC-1')).toStrictEqual({ userCode: 'UC-1' });
        advance(1);
        expect(await store.findByUid('Session', 'u1')).toBeUndefined();
        expect(await store.findByUserCode('DeviceCode', 'UC-1')).toBeUndefined();
      });

      it('collectExpired removes expired models and records, returns the count and keeps live ones', async () => {
        await store.upsert('AccessToken', 'soon', { grantId: 'g1' }, 10);
        await store.upsert('AccessToken', 'later', { grantId: 'g1' }, 20);
        await store.upsert('Grant', 'forever', { accountId: 'alice' });
        await store.putRecord('replay', 'soon', { n: 1 }, { expiresIn: 10 });
        await store.putRecord('replay', 'forever', { n: 2 });

        expect(await store.collectExpired()).toBe(0);
        advance(10);
        expect(await store.collectExpired()).toBe(2);
        expect(await store.collectExpired()).toBe(0);
        expect(await store.find('AccessToken', 'later')).toStrictEqual({ grantId: 'g1' });
        advance(10);
        expect(await store.collectExpired()).toBe(1);

        // Winding the clock back shows the rows were deleted, not merely hidden by the expiry filter.
        now = T0;
        expect(await store.find('AccessToken', 'soon')).toBeUndefined();
        expect(await store.find('AccessToken', 'later')).toBeUndefined();
        expect(await store.getRecord('replay', 'soon')).toBeUndefined();
        expect(await store.find('Grant', 'forever')).toStrictEqual({ accountId: 'alice' });
        expect(await store.getRecord('replay', 'forever')).toStrictEqual({ value: { n: 2 }, version: 1 });
      });
    });

    describe('consume', () => {
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
        now = T0;
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
        if (!opened.connect) ctx.skip(`${name} has no second connection`);
        await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
        const peers = await connections(5);
        const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => peers[i % peers.length]!.consume('AuthorizationCode', 'c1')));
        expect(winners(results)).toBe(1);
      });

      it(`consumes racing from ${PROCESSES} processes x ${CONNECTIONS_PER_PROCESS} connections: exactly one wins overall`, async (ctx) => {
        if (!opened.processConfig) ctx.skip(`${name} cannot be shared between processes`);
        await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
        const attempts = await race({ op: 'consume', model: 'AuthorizationCode', id: 'c1' });
        expect(attempts).toHaveLength(PROCESSES * CONNECTIONS_PER_PROCESS);
        expect(winners(attempts.map((a) => a.won))).toBe(1);
        expect(await store.consume('AuthorizationCode', 'c1')).toBe(false);
        expect(await store.find('AuthorizationCode', 'c1')).toMatchObject({ consumed: T0_SECONDS });
      }, PROCESS_RACE_TIMEOUT);
    });

    describe('destroy and revokeByGrantId', () => {
      it('destroy removes one instance and leaves the others; destroying an absent one resolves', async () => {
        await store.upsert('Session', 's1', { uid: 'u1' });
        await store.upsert('Session', 's2', { uid: 'u2' });
        await store.destroy('Session', 's1');
        expect(await store.find('Session', 's1')).toBeUndefined();
        expect(await store.findByUid('Session', 'u1')).toBeUndefined();
        expect(await store.find('Session', 's2')).toStrictEqual({ uid: 'u2' });
        await expect(store.destroy('Session', 's1')).resolves.toBeUndefined();
        await expect(store.destroy('Session', 'never')).resolves.toBeUndefined();
      });

      it("revokeByGrantId removes only that model's instances of that grant", async () => {
        await store.upsert('AccessToken', 'a1', { grantId: 'g1' }, 60);
        await store.upsert('AccessToken', 'a2', { grantId: 'g1' });
        await store.upsert('AccessToken', 'a3', { grantId: 'g2' }, 60);
        await store.upsert('AccessToken', 'a4', { accountId: 'no-grant' }, 60);
        await store.upsert('RefreshToken', 'r1', { grantId: 'g1' }, 60);
        await store.upsert('Grant', 'g1', { accountId: 'alice' });

        await store.revokeByGrantId('AccessToken', 'g1');
        expect(await store.find('AccessToken', 'a1')).toBeUndefined();
        expect(await store.find('AccessToken', 'a2')).toBeUndefined();
        expect(await store.find('AccessToken', 'a3')).toStrictEqual({ grantId: 'g2' });
        expect(await store.find('AccessToken', 'a4')).toStrictEqual({ accountId: 'no-grant' });
        expect(await store.find('RefreshToken', 'r1')).toStrictEqual({ grantId: 'g1' });
        expect(await store.find('Grant', 'g1')).toStrictEqual({ accountId: 'alice' });
        await expect(store.revokeByGrantId('AccessToken', 'unknown')).resolves.toBeUndefined();
      });
    });

    describe('records', () => {
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
        if (!opened.connect) ctx.skip(`${name} has no second connection`);
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
        if (!opened.processConfig) ctx.skip(`${name} cannot be shared between processes`);
        await store.putRecord('keys', 'k', { writer: 'initial' });
        await store.putRecord('keys', 'k', { writer: 'second' });
        const attempts = await race({ op: 'putRecord', kind: 'keys', id: 'k', expectedVersion: 2 });
        expect(attempts).toHaveLength(PROCESSES * CONNECTIONS_PER_PROCESS);
        const won = attempts.filter((a) => a.won);
        expect(won).toHaveLength(1);
        expect(await store.getRecord('keys', 'k')).toStrictEqual({ value: { writer: won[0]!.tag }, version: 3 });
      }, PROCESS_RACE_TIMEOUT);

      it(`insert-if-absent writers racing from ${PROCESSES} processes: exactly one wins, and its value is stored`, async (ctx) => {
        if (!opened.processConfig) ctx.skip(`${name} cannot be shared between processes`);
        const attempts = await race({ op: 'putRecord', kind: 'lock', id: 'l', expectedVersion: 0 });
        const won = attempts.filter((a) => a.won);
        expect(won).toHaveLength(1);
        expect(await store.getRecord('lock', 'l')).toStrictEqual({ value: { writer: won[0]!.tag }, version: 1 });
      }, PROCESS_RACE_TIMEOUT);
    });

    describe('persistence', () => {
      it('models, records, consumed state and expiry survive close and reopen', async (ctx) => {
        if (!opened.reopen) ctx.skip(`${name} does not persist`);
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
        if (!opened.reopen) ctx.skip(`${name} does not persist`);
        await store.putRecord('keys', 'k', 'v1');
        await (await reopen()).putRecord('keys', 'k', 'v2', { expectedVersion: 1 });
        expect(await (await reopen()).getRecord('keys', 'k')).toStrictEqual({ value: 'v2', version: 2 });
      });
    });

    describe('close', () => {
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

    describe('oidc-provider adapter', () => {
      async function seedGrant(target: Store): Promise<void> {
        await target.upsert('Grant', 'g1', { accountId: 'alice', clientId: 'client-1' }, 3600);
        await target.upsert('AuthorizationCode', 'code-1', { grantId: 'g1', clientId: 'client-1' }, 60);
        await target.upsert('AccessToken', 'at-1', { grantId: 'g1', clientId: 'client-1' }, 3600);
        await target.upsert('RefreshToken', 'rt-1', { grantId: 'g1', clientId: 'client-1' }, 3600);
        await target.upsert('Grant', 'g2', { accountId: 'bob', clientId: 'client-1' }, 3600);
        await target.upsert('AccessToken', 'at-2', { grantId: 'g2', clientId: 'client-1' }, 3600);
        await target.upsert('RefreshToken', 'rt-2', { grantId: 'g2', clientId: 'client-1' }, 3600);
      }

      async function expectGrantRevoked(target: Store): Promise<void> {
        expect(await target.find('Grant', 'g1')).toBeUndefined();
        expect(await target.find('AccessToken', 'at-1')).toBeUndefined();
        expect(await target.find('RefreshToken', 'rt-1')).toBeUndefined();
        expect(await target.find('AuthorizationCode', 'code-1')).toBeUndefined();
        expect(await target.find('Grant', 'g2')).toBeDefined();
        expect(await target.find('AccessToken', 'at-2')).toBeDefined();
        expect(await target.find('RefreshToken', 'rt-2')).toBeDefined();
      }

      function expectOneInvalidGrant(results: PromiseSettledResult<void>[]): void {
        expect(results.map((r) => r.status).sort()).toStrictEqual(['fulfilled', 'rejected']);
        const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
        expect(rejected.reason).toBeInstanceOf(errors.InvalidGrant);
        expect((rejected.reason as { error?: unknown }).error).toBe('invalid_grant');
      }

      it('two concurrent redemptions of one code: one succeeds, the other gets invalid_grant and the grant is revoked', async () => {
        await seedGrant(store);
        const onReuse = vi.fn();
        const Adapter = createAdapter(store, onReuse);
        const results = await Promise.allSettled([new Adapter('AuthorizationCode').consume('code-1'), new Adapter('AuthorizationCode').consume('code-1')]);
        expectOneInvalidGrant(results);
        await expectGrantRevoked(store);
        expect(onReuse).toHaveBeenCalledTimes(1);
        expect(onReuse).toHaveBeenCalledWith({ model: 'AuthorizationCode', grantId: 'g1', clientId: 'client-1' });
      });

      it('two redemptions of one code over different connections: one invalid_grant, one reuse report', async (ctx) => {
        if (!opened.connect) ctx.skip(`${name} has no second connection`);
        await seedGrant(store);
        const [first, second] = await connections(2);
        const onReuse = vi.fn();
        const results = await Promise.allSettled([
          new (createAdapter(first!, onReuse))('AuthorizationCode').consume('code-1'),
          new (createAdapter(second!, onReuse))('AuthorizationCode').consume('code-1'),
        ]);
        expectOneInvalidGrant(results);
        await expectGrantRevoked(store);
        expect(onReuse).toHaveBeenCalledTimes(1);
      });

      it('a replayed refresh token is rejected with invalid_grant and revokes its grant', async () => {
        await seedGrant(store);
        const onReuse = vi.fn();
        const RefreshToken = new (createAdapter(store, onReuse))('RefreshToken');
        await expect(RefreshToken.consume('rt-1')).resolves.toBeUndefined();
        expect(await store.find('AccessToken', 'at-1')).toBeDefined();
        await expect(RefreshToken.consume('rt-1')).rejects.toMatchObject({ error: 'invalid_grant', error_detail: 'refresh token already used' });
        await expectGrantRevoked(store);
        expect(onReuse).toHaveBeenCalledExactlyOnceWith({ model: 'RefreshToken', grantId: 'g1', clientId: 'client-1' });
      });

      it('the adapter passes payloads, expiry and lookups through to the store under its model name', async () => {
        const Adapter = createAdapter(store, () => undefined);
        const sessions = new Adapter('Session');
        await sessions.upsert('s1', { uid: 'u1', accountId: 'alice' } satisfies ModelPayload, 30);
        expect(await store.find('Session', 's1')).toStrictEqual({ uid: 'u1', accountId: 'alice' });
        expect(await sessions.findByUid('u1')).toStrictEqual({ uid: 'u1', accountId: 'alice' });
        advance(30);
        expect(await sessions.find('s1')).toBeUndefined();
      });
    });
  });
}
