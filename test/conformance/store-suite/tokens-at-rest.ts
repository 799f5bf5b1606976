// Store conformance, tokens at rest: through oidc-provider's adapter over the TokensAtRest layer, no
// stored key or payload holds a token value (read from the raw backend where the test offers it: SQL
// rows, Redis keys and values), every token is still found by its value; and records stored the old
// way (under their value) are moved in place by the migration, once, with nothing else changed.
import { randomBytes } from 'node:crypto';

import { beforeEach, describe, expect, it } from 'vitest';

import { createAdapter } from '../../../src/provider/adapter.ts';
import { migrateTokenIds, migrateTokenIdsAtStart } from '../../../src/provider/token-ids-migration.ts';
import { SECRET_ID_MODELS, TokensAtRest } from '../../../src/provider/tokens-at-rest.ts';
import type { ModelPayload, Store } from '../../../src/storage/store.ts';
import { storedTokenId } from '../../../src/storage/token-ids.ts';
import type { StoreUnderTest } from './harness.ts';

const KEY = Buffer.alloc(32, 7);
/** A token value as oidc-provider makes them: 43 characters of base64url. */
const value = () => randomBytes(32).toString('base64url');

interface Seeded {
  readonly model: string;
  readonly id: string;
  readonly payload: ModelPayload;
  readonly expiresIn?: number;
}

/** One instance of every model whose id is a secret, as oidc-provider writes them (payload `jti` = id). */
function instances(): Seeded[] {
  const session = value();
  const deviceCode = value();
  const made: Seeded[] = [
    { model: 'AccessToken', id: value(), payload: { grantId: 'g1', clientId: 'web', kind: 'AccessToken', scope: 'openid' }, expiresIn: 600 },
    { model: 'AuthorizationCode', id: value(), payload: { grantId: 'g1', clientId: 'web', kind: 'AuthorizationCode', sessionUid: 'su-1' }, expiresIn: 60 },
    { model: 'RefreshToken', id: value(), payload: { grantId: 'g1', clientId: 'web', kind: 'RefreshToken', rotations: 0 }, expiresIn: 86400 },
    { model: 'ClientCredentials', id: value(), payload: { clientId: 'svc', kind: 'ClientCredentials' }, expiresIn: 600 },
    { model: 'BackchannelAuthenticationRequest', id: value(), payload: { grantId: 'g1', clientId: 'web', kind: 'BackchannelAuthenticationRequest' }, expiresIn: 600 },
    { model: 'DeviceCode', id: deviceCode, payload: { grantId: 'g1', clientId: 'tv', kind: 'DeviceCode', userCode: 'BCDFGHJK' }, expiresIn: 600 },
    { model: 'Session', id: session, payload: { uid: 'su-1', accountId: 'alice', kind: 'Session', authorizations: { web: { grantId: 'g1', sid: 's1' } } }, expiresIn: 86400 },
    { model: 'Interaction', id: value(), payload: { kind: 'Interaction', deviceCode, session: { accountId: 'alice', uid: 'su-1', cookie: session }, params: { client_id: 'tv' } }, expiresIn: 3600 },
  ];
  return made.map((m) => ({ ...m, payload: { ...m.payload, jti: m.id } }));
}

export function describeTokensAtRest(suite: StoreUnderTest): void {
  const { advance } = suite;

  describe('tokens at rest (TokensAtRest layer under the adapter)', () => {
    let store: Store;
    beforeEach(() => {
      store = suite.store;
    });

    /** Everything the backend holds as text: its raw rows or keys where the test offers them, else what the Store API lists. */
    async function raw(): Promise<string> {
      if (suite.opened.raw) return suite.opened.raw();
      const lines: string[] = [];
      for (const model of [...SECRET_ID_MODELS, 'Grant']) {
        for (const id of await store.listModelIds(model)) lines.push(`${model} ${id} ${JSON.stringify(await store.find(model, id))}`);
      }
      return lines.join('\n');
    }

    const adapter = (model: string) => new (createAdapter(new TokensAtRest(store, KEY), () => undefined))(model);

    it('tokens saved through the adapter are found by their value, while no stored key or payload contains a value', async () => {
      const seeded = instances();
      for (const s of seeded) await adapter(s.model).upsert(s.id, s.payload, s.expiresIn);

      for (const s of seeded) {
        expect(await adapter(s.model).find(s.id)).toStrictEqual(s.payload);
        expect(await store.find(s.model, s.id)).toBeUndefined();
        expect(await store.find(s.model, storedTokenId(s.id))).toBeDefined();
      }
      // Secondary lookups give oidc-provider the real id back (it saves a device code found by user code again).
      const device = seeded.find((s) => s.model === 'DeviceCode')!;
      const session = seeded.find((s) => s.model === 'Session')!;
      expect(await adapter('DeviceCode').findByUserCode('BCDFGHJK')).toStrictEqual(device.payload);
      expect(await adapter('Session').findByUid('su-1')).toStrictEqual(session.payload);

      const contents = await raw();
      expect(contents).toContain(storedTokenId(seeded[0]!.id));
      for (const s of seeded) expect(contents).not.toContain(s.id);
    });

    it('consume and destroy reach the hashed instance by the token value', async () => {
      const [code, , refresh] = instances();
      await adapter('AuthorizationCode').upsert(code!.id, code!.payload, 60);
      await adapter('RefreshToken').upsert(refresh!.id, refresh!.payload, 60);
      await adapter('AuthorizationCode').consume(code!.id);
      expect(await adapter('AuthorizationCode').find(code!.id)).toMatchObject({ consumed: expect.any(Number), jti: code!.id });
      await adapter('RefreshToken').destroy(refresh!.id);
      expect(await adapter('RefreshToken').find(refresh!.id)).toBeUndefined();
      expect(await store.listModelIds('RefreshToken')).toStrictEqual([]);
    });

    it('a value is not accepted in its stored (hashed) form', async () => {
      const [token] = instances();
      await adapter('AccessToken').upsert(token!.id, token!.payload, 600);
      expect(await adapter('AccessToken').find(storedTokenId(token!.id))).toBeUndefined();
    });

    it('migration moves records stored under their value in place: found by value, nothing else changed, a second run changes nothing', async () => {
      const seeded = instances();
      for (const s of seeded) await store.upsert(s.model, s.id, s.payload, s.expiresIn);
      const code = seeded.find((s) => s.model === 'AuthorizationCode')!;
      expect(await store.consume('AuthorizationCode', code.id)).toBe(true);
      // What the migration must leave alone: a grant, a record, a token already stored hashed.
      await store.upsert('Grant', 'g1', { accountId: 'alice', jti: 'g1' }, 86400);
      await store.putRecord('account', 'alice', { claims: { email: 'a@example.org' } });
      const hashed = value();
      await adapter('RefreshToken').upsert(hashed, { grantId: 'g2', jti: hashed }, 86400);
      const untouched = async () => ({
        grant: await store.find('Grant', 'g1'),
        record: await store.getRecord('account', 'alice'),
        hashed: await store.find('RefreshToken', storedTokenId(hashed)),
      });
      const before = await untouched();

      advance(10);
      const first = await migrateTokenIds(store, KEY);
      expect(first.moved).toStrictEqual(Object.fromEntries(seeded.map((s) => [s.model, 1])));

      for (const s of seeded) {
        const found = await adapter(s.model).find(s.id);
        expect(found).toStrictEqual(s === code ? { ...s.payload, consumed: expect.any(Number) } : s.payload);
        expect(await store.find(s.model, s.id)).toBeUndefined();
      }
      expect(await adapter('AuthorizationCode').find(code.id)).toHaveProperty('consumed');
      expect(await adapter('DeviceCode').findByUserCode('BCDFGHJK')).toMatchObject({ jti: seeded.find((s) => s.model === 'DeviceCode')!.id });
      expect(await untouched()).toStrictEqual(before);
      const contents = await raw();
      for (const s of seeded) expect(contents).not.toContain(s.id);

      expect(await migrateTokenIds(store, KEY)).toStrictEqual({ moved: {} });
      expect(await raw()).toBe(contents);

      // Moved instances keep their expiry: the code (60 s) ends on time.
      advance(51);
      expect(await adapter('AuthorizationCode').find(code.id)).toBeUndefined();
      expect(await adapter('RefreshToken').find(seeded.find((s) => s.model === 'RefreshToken')!.id)).toBeDefined();
    });

    it('the start-up pass runs until one has completed on the store; an explicit pass always runs', async () => {
      const [first, second] = [value(), value()];
      await store.upsert('RefreshToken', first, { grantId: 'g1', jti: first }, 3600);
      expect(await migrateTokenIdsAtStart(store, KEY)).toStrictEqual({ moved: { RefreshToken: 1 } });
      await store.upsert('RefreshToken', second, { grantId: 'g1', jti: second }, 3600);
      expect(await migrateTokenIdsAtStart(store, KEY)).toStrictEqual({ moved: {} });
      expect(await migrateTokenIds(store, KEY)).toStrictEqual({ moved: { RefreshToken: 1 } });
      for (const id of [first, second]) expect(await adapter('RefreshToken').find(id)).toStrictEqual({ grantId: 'g1', jti: id });
    });

    it('instances starting at once migrate each record exactly once', async (ctx) => {
      if (!suite.opened.connect) ctx.skip(`${suite.name} has no second connection`);
      const tokens = Array.from({ length: 30 }, value);
      for (const id of tokens) await store.upsert('RefreshToken', id, { grantId: 'g1', jti: id }, 3600);
      const peers = await suite.connections(4);
      const runs = await Promise.all(peers.map((peer) => migrateTokenIds(peer, KEY)));
      expect(runs.reduce((sum, run) => sum + (run.moved.RefreshToken ?? 0), 0)).toBe(tokens.length);
      for (const id of tokens) expect(await adapter('RefreshToken').find(id)).toStrictEqual({ grantId: 'g1', jti: id });
      expect((await store.listModelIds('RefreshToken')).sort()).toStrictEqual(tokens.map(storedTokenId).sort());
    });
  });
}
