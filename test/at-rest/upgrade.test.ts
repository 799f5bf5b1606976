// Upgrading a database written by an older Baton, which stored tokens under their own value: `baton
// migrate` (and every start) moves them in place to hashed ids, once; afterwards the refresh token and
// the opaque access token the client holds still work, and the database holds neither value.
import { join } from 'node:path';

import Database from 'better-sqlite3';
import * as client from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';

import { deriveKey } from '../../src/keys/seal.ts';
import { migrateStoredTokens } from '../../src/provider/token-ids-migration.ts';
import { TOKEN_IDS_PURPOSE, TokensAtRest } from '../../src/provider/tokens-at-rest.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { storedTokenId } from '../../src/storage/token-ids.ts';
import { WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { freePort, scratchDir, startBaton, TEST_ENV, TEST_MASTER_SECRET, type RunningBaton } from '../helpers/baton.ts';
import { discover } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function contents(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM oidc_models').all().map((row) => JSON.stringify(row)).join('\n');
  } finally {
    db.close();
  }
}

/** Turns the database into one an older Baton wrote: the tokens under their value, with `jti` = the value in the payload. */
async function storeTheOldWay(path: string, tokens: Array<[model: string, value: string]>): Promise<void> {
  const store = new SqliteStore({ path });
  const readable = new TokensAtRest(store, deriveKey(TEST_MASTER_SECRET, TOKEN_IDS_PURPOSE));
  try {
    for (const [model, value] of tokens) {
      const payload = await readable.find(model, value);
      expect(payload, `${model} stored`).toMatchObject({ jti: value });
      await store.destroy(model, storedTokenId(value));
      await store.upsert(model, value, payload!, 3600);
    }
    // An older Baton never ran the token-id pass on its database.
    await store.deleteRecord('migrations', 'token-ids-at-rest');
  } finally {
    await store.close();
  }
}

describe('upgrading tokens stored under their value', () => {
  it('baton migrate moves them once; the client\'s refresh token and opaque access token keep working', async () => {
    const dir = scratchDir();
    cleanups.push(dir.remove);
    const path = join(dir.path, 'baton.db');
    const config = { ...standardConfig, storage: { type: 'sqlite', path } };
    const port = await freePort();

    let baton: RunningBaton = await startBaton(config, { port });
    const web = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid email offline_access' });
    const tokens = await client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    expect(tokens.access_token.split('.')).toHaveLength(1);
    const sub = tokens.claims()!.sub;
    await baton.stop();

    await storeTheOldWay(path, [['AccessToken', tokens.access_token], ['RefreshToken', tokens.refresh_token!]]);
    expect(contents(path)).toContain(tokens.refresh_token);

    expect(await migrateStoredTokens(baton.config)).toStrictEqual({ AccessToken: 1, RefreshToken: 1 });
    expect(await migrateStoredTokens(baton.config)).toStrictEqual({});
    const after = contents(path);
    expect(after).not.toContain(tokens.refresh_token);
    expect(after).not.toContain(tokens.access_token);

    baton = await startBaton(config, { port });
    cleanups.push(() => baton.stop());
    const again = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    expect(await client.fetchUserInfo(again, tokens.access_token, sub)).toMatchObject({ sub });
    const refreshed = await client.refreshTokenGrant(again, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeDefined();
  });

  it('a start alone migrates too', async () => {
    const dir = scratchDir();
    cleanups.push(dir.remove);
    const path = join(dir.path, 'baton.db');
    const config = { ...standardConfig, storage: { type: 'sqlite', path } };
    const port = await freePort();

    let baton: RunningBaton = await startBaton(config, { port });
    const web = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid email offline_access' });
    const tokens = await client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    await baton.stop();
    await storeTheOldWay(path, [['RefreshToken', tokens.refresh_token!]]);

    baton = await startBaton(config, { port });
    cleanups.push(() => baton.stop());
    expect(contents(path)).not.toContain(tokens.refresh_token);
    const refreshed = await client.refreshTokenGrant(await discover(baton.url, 'web', TEST_ENV.WEB_SECRET), tokens.refresh_token!);
    expect(refreshed.access_token).toBeDefined();
  });
});
