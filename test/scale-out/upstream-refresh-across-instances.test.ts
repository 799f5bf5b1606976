// Regression: two Baton instances refreshing one upstream session at once made an IdP that rotates
// refresh tokens with reuse detection (here a real oidc-provider) see the same refresh token twice
// and revoke the user's session. Two `baton start` processes on a shared store (Redis, PostgreSQL),
// 50 Baton refresh tokens sharing one upstream sign-in, all refreshed at once across both
// instances under `upstreamRefresh: always`: exactly one upstream refresh, no upstream revocation,
// every client keeps working.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { spawnBaton, type BatonProcess } from '../helpers/baton-process.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';

const SECRET = 'upstream-client-secret-0123456789';
const CLIENTS = 50;
const schema = uniqueSchema('storm');
const keyPrefix = uniquePrefix();
const dir = mkdtempSync(join(tmpdir(), 'baton-storm-'));

let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;
afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await dropSchema(schema).catch(() => undefined);
  await dropPrefix(keyPrefix).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});
beforeAll(async () => {
  await Promise.all([requirePostgres(), requireRedis()]);
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
});

const storages = [
  ['redis', { type: 'redis', url: REDIS_URL, keyPrefix }],
  ['postgres', { type: 'postgres', url: POSTGRES_URL, schema }],
] as const;

describe.each(storages)('two Baton processes on %s, one rotating upstream with reuse detection', (_name, storage) => {
  let idp: Upstream;
  let instances: BatonProcess[] = [];
  let issuer: string;
  const revokedUpstream: string[] = [];

  beforeAll(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${portA}`;
    idp = await startUpstream({
      profile: 'generic',
      clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`${issuer}/callback/corp`] }],
      users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true } }],
    });
    // oidc-provider revokes the whole grant when a rotated refresh token comes back (its reuse detection).
    idp.provider.on('grant.revoked', (_ctx: unknown, grantId: string) => revokedUpstream.push(grantId));
    const raw = {
      issuer,
      keys: { masterSecret: TEST_MASTER_SECRET },
      storage,
      upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET, timeout: '10s' }],
      clients: [{ client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], upstreamRefresh: 'always' }],
    };
    instances = await Promise.all([spawnBaton(raw, portA, dir, 'a'), spawnBaton(raw, portB, dir, 'b')]);
    page = await browser.newPage();
  });
  afterAll(async () => {
    await page?.close();
    await browser.context.clearCookies();
    await Promise.all(instances.map((i) => i.stop()));
    await idp?.stop();
  });

  /** One upstream sign-in, then CLIENTS - 1 more authorizations through the same Baton session: one refresh token each. */
  async function refreshTokens(): Promise<string[]> {
    const first = await openAuthorize(page, issuer, app, 'web', TEST_ENV.WEB_SECRET, { scope: 'openid email' });
    await signInAtUpstream(page, 'ann', 'ann-pw');
    const tokens = [(await redeem(first, await backAtApp(page, app))).refresh_token!];
    const rp = await discover(issuer, 'web', TEST_ENV.WEB_SECRET);
    while (tokens.length < CLIENTS) {
      const started = await openAuthorize(page, issuer, app, 'web', TEST_ENV.WEB_SECRET, { scope: 'openid email' });
      tokens.push((await client.authorizationCodeGrant(rp, await backAtApp(page, app), { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce })).refresh_token!);
    }
    expect(idp.counters.authorize).toBe(1);
    return tokens;
  }

  const refreshAt = (at: BatonProcess, token: string) =>
    postForm(`${at.url}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }), { authorization: basic('web', TEST_ENV.WEB_SECRET) });

  it(`${CLIENTS} concurrent Baton refreshes over both instances: one upstream refresh, no upstream revocation, every client keeps working`, async () => {
    const tokens = await refreshTokens();
    // The upstream answers after 3 s, so every request is in flight while the one refresh runs.
    idp.fail('hold', ['token'], { delayMs: 3000 });
    const before = idp.counters.refresh;
    const storm = await Promise.all(tokens.map((token, i) => refreshAt(instances[i % 2]!, token)));
    expect(storm.map((r) => r.status)).toEqual(tokens.map(() => 200));
    expect(idp.counters.refresh - before).toBe(1);
    expect(revokedUpstream).toEqual([]);

    // Every client keeps working, and the upstream session too: the next round again makes one call.
    const again = await Promise.all(storm.map((r, i) => refreshAt(instances[(i + 1) % 2]!, String(r.json.refresh_token))));
    expect(again.map((r) => r.status)).toEqual(tokens.map(() => 200));
    expect(idp.counters.refresh - before).toBe(2);
    expect(revokedUpstream).toEqual([]);
    idp.fail('none');
  }, 120_000);
});
