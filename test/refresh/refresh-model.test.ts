// The refresh model under concurrency, retries and outages (issue 13 items 1 and 2), on every shared
// backend with two real Baton instances (one on SQLite): N concurrent presentations of one refresh
// token cause one rotation and all get the same successor; the grace window's edges; a 503 from an
// authorizer outage spends neither the refresh token nor the code, and the retry is not reuse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ORDERS_API, WEB_REDIRECT } from '../fixtures/standard.ts';
import { TEST_ENV } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { DEVICE_CODE_GRANT } from '../../src/provider/device-polling.ts';
import { ACCOUNT_KIND } from '../../src/provider/accounts.ts';
import { startAuthorizer, startPair, type Authorizer, type Backend, type Instance, type Pair } from './pair.ts';

const BRIEF_GRACE = 1;
const raw = (authorizer: Authorizer) => ({
  resources: [{ id: ORDERS_API, scopes: ['orders:read', 'orders:write'] }],
  // cacheTTL 0: every issuance asks the authorizer, so its outage is felt at once.
  authorizers: [{ id: 'orders', url: authorizer.url, namespace: 'orders:', cacheTTL: 0, timeout: '5s' }],
  clients: [
    { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: ORDERS_API }] },
    { client_id: 'brief', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: ORDERS_API }], refreshTokenReuseGrace: BRIEF_GRACE },
    { client_id: 'other', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: ORDERS_API }] },
    { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE_GRANT, 'refresh_token'], resources: [{ id: ORDERS_API }] },
  ],
});

const BACKENDS: Backend[] = ['sqlite', 'postgres', 'redis', 'split'];

describe.each(BACKENDS)('refresh model on %s', (backend) => {
  let pair: Pair;
  let authorizer: Authorizer;
  beforeAll(async () => {
    authorizer = await startAuthorizer({ decision: 'grant', scopes: ['orders:read'] });
    pair = await startPair(backend, raw(authorizer));
  }, 60_000);
  afterAll(async () => {
    await pair?.stop();
    await authorizer?.stop();
  });

  const token = (at: Instance, body: Record<string, string>, clientId = 'web') => postForm(`${at.url}/token`, new URLSearchParams(body), { authorization: basic(clientId, TEST_ENV.WEB_SECRET) });
  const refresh = (at: Instance, refreshToken: string, clientId = 'web') => token(at, { grant_type: 'refresh_token', refresh_token: refreshToken }, clientId);
  const seed = (clientId = 'web') => seedAuthorizationCode(pair.a.baton, { clientId, redirectUri: WEB_REDIRECT, resource: ORDERS_API, resourceScope: 'orders:read' });
  const redeem = (at: Instance, seeded: { code: string; codeVerifier: string }, clientId = 'web') =>
    token(at, { grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier }, clientId);
  const signIn = async (clientId = 'web') => {
    const issued = await redeem(pair.a, await seed(clientId), clientId);
    expect(issued.status).toBe(200);
    return String(issued.json.refresh_token);
  };
  /** Reuse reported anywhere (A's events, B's log): a theft alarm. */
  const reuseAlarms = () => pair.eventsAtA.filter((e) => e.type === 'token.reuse_detected').length + (pair.b === pair.a ? 0 : pair.linesAtB.filter((l) => l.includes('"grant.reuse_detected"')).length);
  /** baton_refresh_total{outcome} summed over the instances. */
  const outcomes = async (outcome: string) => {
    let sum = 0;
    for (const at of pair.b === pair.a ? [pair.a] : [pair.a, pair.b]) {
      const text = await (await fetch(`${at.url}/metrics`)).text();
      sum += Number(new RegExp(`^baton_refresh_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    }
    return sum;
  };
  const jti = (accessToken: unknown) => JSON.parse(Buffer.from(String(accessToken).split('.')[1]!, 'base64url').toString()).jti as string;

  it('20 concurrent refreshes with one token over both instances: all succeed with one successor, and the family lives', async () => {
    const first = await signIn();
    const alarms = reuseAlarms();
    const [rotatedBefore, replaysBefore] = [await outcomes('rotated'), await outcomes('grace_replay')];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => refresh(i % 2 === 0 ? pair.a : pair.b, first)));
    expect(results.map((r) => (r.status === 200 ? 200 : r.json))).toEqual(Array(20).fill(200));
    const successors = new Set(results.map((r) => r.json.refresh_token));
    expect(successors.size).toBe(1);
    expect(successors.has(first)).toBe(false);
    // Every answer carries its own fully decided access token.
    expect(new Set(results.map((r) => jti(r.json.access_token))).size).toBe(20);
    expect(results.every((r) => r.json.scope === 'orders:read')).toBe(true);
    expect(await outcomes('rotated')).toBe(rotatedBefore + 1);
    expect(await outcomes('grace_replay')).toBe(replaysBefore + 19);
    const next = await refresh(pair.b, String(results[0]!.json.refresh_token));
    expect(next.status).toBe(200);
    expect(reuseAlarms()).toBe(alarms);
  });

  it('inside the window: the same client presenting the rotated token again gets the same successor and a fresh access token', async () => {
    const first = await signIn();
    const rotated = await refresh(pair.a, first);
    const again = await refresh(pair.b, first);
    expect(again.status).toBe(200);
    expect(again.json.refresh_token).toBe(rotated.json.refresh_token);
    expect(jti(again.json.access_token)).not.toBe(jti(rotated.json.access_token));
    expect((await refresh(pair.a, String(rotated.json.refresh_token))).status).toBe(200);
  });

  it('outside the window: the old token is reuse and revokes the family', async () => {
    const first = await signIn('brief');
    const rotated = await refresh(pair.a, first, 'brief');
    expect(rotated.status).toBe(200);
    const alarms = reuseAlarms();
    await new Promise((resolve) => setTimeout(resolve, BRIEF_GRACE * 1000 + 600));
    const late = await refresh(pair.b, first, 'brief');
    expect(late.json.error).toBe('invalid_grant');
    expect((await refresh(pair.a, String(rotated.json.refresh_token), 'brief')).json.error).toBe('invalid_grant');
    await expect.poll(reuseAlarms, { timeout: 5000 }).toBeGreaterThan(alarms);
  });

  it('inside the window, another client never gets the successor', async () => {
    const first = await signIn();
    const rotated = await refresh(pair.a, first);
    const stranger = await refresh(pair.b, first, 'other');
    expect(stranger.status).toBe(400);
    expect(stranger.json.error).toBe('invalid_grant');
    expect(stranger.json.refresh_token).toBeUndefined();
  });

  it('inside the window, once the successor itself was used, the old token is reuse and revokes the family', async () => {
    const first = await signIn();
    const rotated = await refresh(pair.a, first);
    const next = await refresh(pair.b, String(rotated.json.refresh_token));
    expect(next.status).toBe(200);
    const alarms = reuseAlarms();
    const replayed = await refresh(pair.a, first);
    expect(replayed.json.error).toBe('invalid_grant');
    expect((await refresh(pair.b, String(next.json.refresh_token))).json.error).toBe('invalid_grant');
    await expect.poll(reuseAlarms, { timeout: 5000 }).toBeGreaterThan(alarms);
  });

  it('an authorizer outage answers 503 and spends nothing: the retries with the same refresh token and the same code succeed, and nothing is reported as reuse', async () => {
    const first = await signIn();
    const pending = await seed();
    const alarms = reuseAlarms();
    await authorizer.stop();
    try {
      const refused = await refresh(pair.a, first);
      expect(refused.status).toBe(503);
      expect(refused.json.error).toBe('temporarily_unavailable');
      const refusedCode = await redeem(pair.b, pending);
      expect(refusedCode.status).toBe(503);
      expect(refusedCode.json.error).toBe('temporarily_unavailable');
    } finally {
      await authorizer.start();
    }
    const retried = await refresh(pair.b, first);
    expect(retried.status).toBe(200);
    expect(retried.json.scope).toBe('orders:read');
    const retriedCode = await redeem(pair.a, pending);
    expect(retriedCode.status).toBe(200);
    // Both families are alive.
    expect((await refresh(pair.b, String(retried.json.refresh_token))).status).toBe(200);
    expect((await refresh(pair.a, String(retriedCode.json.refresh_token))).status).toBe(200);
    expect(reuseAlarms()).toBe(alarms);
    const metrics = await (await fetch(`${pair.a.url}/metrics`)).text();
    expect(Number(/^baton_refresh_total\{outcome="given_back"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  });

  /** A device code the user approved (what the verification page leaves behind). */
  const approvedDeviceCode = async () => {
    const { provider, store } = pair.a.baton;
    await store.putRecord(ACCOUNT_KIND, 'alice', { claims: { email: 'alice@example.com' } });
    const grant = new provider.Grant({ accountId: 'alice', clientId: 'tv' });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(ORDERS_API, 'orders:read');
    const grantId = await grant.save();
    const code = new provider.DeviceCode({
      client: (await provider.Client.find('tv'))!, accountId: 'alice', grantId, scope: 'openid offline_access orders:read', resource: ORDERS_API,
      params: { client_id: 'tv', scope: 'openid offline_access orders:read', resource: ORDERS_API }, userCode: `U${Date.now()}`, authTime: Math.floor(Date.now() / 1000), deviceInfo: {},
    });
    return code.save();
  };

  it('an authorizer outage while a device polls spends nothing: the next poll gets the tokens', async () => {
    const deviceCode = await approvedDeviceCode();
    const poll = (at: Instance) => postForm(`${at.url}/token`, new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: 'tv' }));
    const alarms = reuseAlarms();
    await authorizer.stop();
    try {
      const refused = await poll(pair.a);
      expect(refused.status).toBe(503);
      expect(refused.json.error).toBe('temporarily_unavailable');
    } finally {
      await authorizer.start();
    }
    const issued = await poll(pair.b);
    expect(issued.status).toBe(200);
    expect(issued.json.scope).toContain('orders:read');
    expect((await poll(pair.a)).json.error).toBe('invalid_grant');
    await expect.poll(reuseAlarms, { timeout: 5000 }).toBeGreaterThan(alarms);
  });

  it('10 concurrent redemptions of one code over both instances: exactly one succeeds', async () => {
    const seeded = await seed();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => redeem(i % 2 === 0 ? pair.a : pair.b, seeded)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.json.error === 'invalid_grant')).toHaveLength(9);
  });
});
