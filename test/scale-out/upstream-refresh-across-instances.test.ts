// Regression: two Baton instances refreshing one upstream session at once made an IdP that rotates
// refresh tokens with reuse detection (here a real oidc-provider) see the same refresh token twice
// and revoke the user's session. Two `baton start` processes on a shared store (Redis, PostgreSQL),
// 50 Baton refresh tokens sharing one upstream sign-in, all refreshed at once across both
// instances under `upstreamRefresh: always`: exactly one upstream refresh, no upstream revocation,
// every client keeps working.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { spawnBaton, type BatonProcess } from '../helpers/baton-process.ts';
import { CookieAgent, signIn } from '../helpers/http-sign-in.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';

const SECRET = 'upstream-client-secret-0123456789';
const CLIENTS = 50;
const schema = uniqueSchema('storm');
const keyPrefix = uniquePrefix();
const dir = mkdtempSync(join(tmpdir(), 'baton-storm-'));

const REDIRECT_URI = 'http://127.0.0.1:9/app/callback';
afterAll(async () => {
  await dropSchema(schema).catch(() => undefined);
  await dropPrefix(keyPrefix).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});
beforeAll(async () => {
  await Promise.all([requirePostgres(), requireRedis()]);
});

const storages = [
  ['redis', { type: 'redis', url: REDIS_URL, keyPrefix }],
  ['postgres', { type: 'postgres', url: POSTGRES_URL, schema }],
] as const;

describe.each(storages)('two Baton processes on %s, one rotating upstream with reuse detection', (name, storage) => {
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
    const raw = (instance: string) => ({
      issuer,
      audit: { output: 'file', file: join(dir, `audit-${name}-${instance}.jsonl`) },
      keys: { masterSecret: TEST_MASTER_SECRET },
      storage,
      upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: SECRET, timeout: '10s' }],
      clients: [{ client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [REDIRECT_URI], upstreamRefresh: 'always' }],
    });
    instances = await Promise.all([spawnBaton(raw('a'), portA, dir, `${name}-a`), spawnBaton(raw('b'), portB, dir, `${name}-b`)]);
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await idp?.stop();
  });

  /** One upstream sign-in, then CLIENTS - 1 more authorizations through the same Baton session (one user agent): one refresh token each. */
  async function refreshTokens(): Promise<string[]> {
    const agent = new CookieAgent();
    const tokens: string[] = [];
    while (tokens.length < CLIENTS) tokens.push(await signIn({ issuer, clientId: 'web', secret: TEST_ENV.WEB_SECRET, redirectUri: REDIRECT_URI, scope: 'openid email' }, 'ann', 'ann-pw', agent));
    expect(idp.counters.authorize).toBe(1);
    return tokens;
  }

  /** The `upstream.refresh` audit events both instances wrote. */
  const refreshEvents = () => ['a', 'b'].flatMap((instance) => {
    let text = '';
    try {
      text = readFileSync(join(dir, `audit-${name}-${instance}.jsonl`), 'utf8');
    } catch {
      // nothing written yet
    }
    return text.split('\n').filter((line) => line.includes('"type":"upstream.refresh"')).map((line) => ({ instance, ...(JSON.parse(line) as { role: string; upstreamCall: string; outcome: string }) }));
  });

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
    // Audited: one holder called the upstream; the other instance waited for its result.
    await expect.poll(() => refreshEvents().length, { timeout: 5000 }).toBe(2);
    const [holder, waiter] = [refreshEvents().filter((e) => e.role === 'holder'), refreshEvents().filter((e) => e.role === 'waiter')];
    expect(holder).toMatchObject([{ upstreamCall: 'ok', outcome: 'refreshed' }]);
    expect(waiter).toMatchObject([{ upstreamCall: 'none', outcome: 'refreshed' }]);
    expect(waiter[0]!.instance).not.toBe(holder[0]!.instance);

    // Every client keeps working, and the upstream session too: the next round again makes one call.
    const again = await Promise.all(storm.map((r, i) => refreshAt(instances[(i + 1) % 2]!, String(r.json.refresh_token))));
    expect(again.map((r) => r.status)).toEqual(tokens.map(() => 200));
    expect(idp.counters.refresh - before).toBe(2);
    expect(revokedUpstream).toEqual([]);
    idp.fail('none');
  }, 120_000);
});
