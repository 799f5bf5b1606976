// Store conformance, through oidc-provider's adapter (src/provider/adapter.ts): a reused authorization code
// or refresh token is rejected with invalid_grant and revokes its grant, once, however the redemptions race.
import { errors } from 'oidc-provider';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { createAdapter } from '../../../src/provider/adapter.ts';
import type { ModelPayload, Store } from '../../../src/storage/store.ts';
import type { StoreUnderTest } from './harness.ts';

export function describeAdapter(suite: StoreUnderTest): void {
  const { name, advance, connections } = suite;

  describe('oidc-provider adapter', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

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
      if (!suite.opened.connect) ctx.skip(`${name} has no second connection`);
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
}
