// Store conformance, models: deep round-trips, lookups by id, uid and userCode, re-indexing on upsert,
// per-model namespaces, destroy and revokeByGrantId (src/storage/store.ts).
import { beforeEach, describe, expect, it } from 'vitest';

import type { Store } from '../../../src/storage/store.ts';
import type { StoreUnderTest } from './harness.ts';

export function describeModels(suite: StoreUnderTest): void {
  describe('models', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

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
}

export function describeRevocation(suite: StoreUnderTest): void {
  describe('destroy and revokeByGrantId', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

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

    it('among many instances each lookup finds its own, and revoking one grant leaves every other', async () => {
      const n = 300;
      for (let i = 0; i < n; i++) {
        await store.upsert('Session', `s${i}`, { uid: `u${i}`, grantId: `g${i % 10}`, i }, 60);
        await store.upsert('DeviceCode', `d${i}`, { userCode: `UC-${i}`, grantId: `g${i % 10}`, i }, 60);
      }
      for (const i of [0, 1, 149, 299]) {
        expect(await store.findByUid('Session', `u${i}`)).toMatchObject({ i });
        expect(await store.findByUserCode('DeviceCode', `UC-${i}`)).toMatchObject({ i });
      }
      await store.revokeByGrantId('Session', 'g3');
      expect(await store.listModelIds('Session')).toHaveLength(n - n / 10);
      expect(await store.findByUid('Session', 'u3')).toBeUndefined();
      expect(await store.findByUid('Session', 'u13')).toBeUndefined();
      expect(await store.findByUid('Session', 'u4')).toMatchObject({ i: 4 });
      // Another model's instances of that grant stay.
      expect(await store.findByUserCode('DeviceCode', 'UC-3')).toMatchObject({ i: 3 });
    });

    it('an instance that moves to another grant or uid is revoked and found under the new one only', async () => {
      await store.upsert('Session', 's1', { uid: 'u1', grantId: 'g1' }, 60);
      await store.upsert('Session', 's1', { uid: 'u2', grantId: 'g2' }, 60);
      await store.revokeByGrantId('Session', 'g1');
      expect(await store.findByUid('Session', 'u2')).toStrictEqual({ uid: 'u2', grantId: 'g2' });
      await store.revokeByGrantId('Session', 'g2');
      expect(await store.find('Session', 's1')).toBeUndefined();
      expect(await store.findByUid('Session', 'u2')).toBeUndefined();
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
}
