// Store conformance, expiry and collection: models and records vanish at the instant they expire, on the
// injected clock, and collectExpired() deletes them for good.
import { beforeEach, describe, expect, it } from 'vitest';

import type { Store } from '../../../src/storage/store.ts';
import type { StoreUnderTest } from './harness.ts';

export function describeExpiry(suite: StoreUnderTest): void {
  const { advance } = suite;

  describe('expiry', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

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

    it('collectExpired takes the lookups of what it removes with it: the uid, user code and grant go to a new instance', async () => {
      await store.upsert('Session', 'old', { uid: 'u1', grantId: 'g1' }, 10);
      await store.upsert('DeviceCode', 'old-code', { userCode: 'UC-1' }, 10);
      advance(10);
      expect(await store.collectExpired()).toBe(2);
      await store.upsert('Session', 'new', { uid: 'u1', grantId: 'g1', v: 2 }, 60);
      await store.upsert('DeviceCode', 'new-code', { userCode: 'UC-1', v: 2 }, 60);
      expect(await store.findByUid('Session', 'u1')).toStrictEqual({ uid: 'u1', grantId: 'g1', v: 2 });
      expect(await store.findByUserCode('DeviceCode', 'UC-1')).toStrictEqual({ userCode: 'UC-1', v: 2 });
      await store.revokeByGrantId('Session', 'g1');
      expect(await store.find('Session', 'new')).toBeUndefined();
      expect(await store.findByUid('Session', 'u1')).toBeUndefined();
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
      suite.rewind();
      expect(await store.find('AccessToken', 'soon')).toBeUndefined();
      expect(await store.find('AccessToken', 'later')).toBeUndefined();
      expect(await store.getRecord('replay', 'soon')).toBeUndefined();
      expect(await store.find('Grant', 'forever')).toStrictEqual({ accountId: 'alice' });
      expect(await store.getRecord('replay', 'forever')).toStrictEqual({ value: { n: 2 }, version: 1 });
    });
  });
}
