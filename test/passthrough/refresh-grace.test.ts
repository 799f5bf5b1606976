// Passthrough refresh tokens under retries and concurrency, as Baton's own (test/refresh/
// refresh-model.test.ts), on memory, Redis and PostgreSQL: a client that retries a refresh inside
// the reuse grace window gets the same successor and keeps its session; 10 concurrent refreshes make
// one rotation; reuse after the window (or after the successor was used, or strict) ends the chain;
// another client never gets the successor and ends nothing. Real upstream OPs (Entra rotates,
// Google does not), Chromium at the upstream, openid-client at Baton.
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ROTATION_KIND, tokenKey } from '../../src/grants/refresh-rotation.ts';
import type { BatonEvent } from '../../src/observability/events.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';
import { basic, postForm, rejection } from '../helpers/rp.ts';
import { app, authorize, redeem, SECRETS, startEnvironment, type Environment } from './environment.ts';

const ALICE = { username: 'alice@contoso.com', password: 'alice-pw' };
const BOB = { username: 'bob@example.org', password: 'bob-pw' };
const BRIEF_GRACE = 1;

/** The three test files' entries, plus handles at a rotating upstream with the default, a brief and no window. */
const PASSTHROUGH = [
  { id: 'crm-handle', upstream: 'contoso', clients: ['crm-app', 'other-app'], refreshTokens: 'handle' },
  { id: 'crm-brief', upstream: 'contoso', clients: ['crm-app'], refreshTokens: 'handle', refreshTokenReuseGrace: BRIEF_GRACE },
  { id: 'crm-strict', upstream: 'contoso', clients: ['crm-app'], refreshTokens: 'handle', refreshTokenReuseGrace: 0 },
];

/** Which user, app and upstream each passthrough under test serves. */
const SUBJECTS = {
  'crm-handle': { user: ALICE, clientId: 'crm-app', secret: SECRETS.crm, upstream: 'entra' },
  'crm-brief': { user: ALICE, clientId: 'crm-app', secret: SECRETS.crm, upstream: 'entra' },
  'crm-strict': { user: ALICE, clientId: 'crm-app', secret: SECRETS.crm, upstream: 'entra' },
  crm: { user: ALICE, clientId: 'crm-app', secret: SECRETS.crm, upstream: 'entra' },
  mail: { user: BOB, clientId: 'mail-app', secret: SECRETS.mail, upstream: 'google' },
} as const;
type Id = keyof typeof SUBJECTS;

/** Baton's storage on each backend, and how to clean it up afterwards. */
async function storageOn(backend: 'memory' | 'redis' | 'postgres'): Promise<{ storage?: Record<string, unknown>; drop: () => Promise<void> }> {
  if (backend === 'redis') {
    await requireRedis();
    const keyPrefix = uniquePrefix();
    return { storage: { type: 'redis', url: REDIS_URL, keyPrefix }, drop: () => dropPrefix(keyPrefix) };
  }
  if (backend === 'postgres') {
    await requirePostgres();
    const schema = uniqueSchema('passthrough');
    return { storage: { type: 'postgres', url: POSTGRES_URL, schema }, drop: () => dropSchema(schema) };
  }
  return { drop: async () => undefined };
}

describe.each(['memory', 'redis', 'postgres'] as const)('passthrough refresh resilience on %s', (backend) => {
  let env: Environment;
  let page: Page;
  let drop: (() => Promise<void>) | undefined;
  const seen: BatonEvent[] = [];

  beforeAll(async () => {
    const { storage, drop: cleanup } = await storageOn(backend);
    drop = cleanup;
    env = await startEnvironment({ passthrough: PASSTHROUGH, ...(storage ? { storage } : {}) });
    env.baton.baton.events.subscribe((event) => void seen.push(event));
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    await drop?.();
  });
  beforeEach(async () => {
    await env.browser.context.clearCookies();
    page = await env.browser.newPage();
  });
  afterEach(() => page.close());

  const upstreamRefreshes = (id: Id) => env[SUBJECTS[id].upstream].counters.refresh;
  const refresh = (id: Id, refreshToken: string, auth = basic(SUBJECTS[id].clientId, SUBJECTS[id].secret)) =>
    postForm(`${env.issuer(id)}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }), { authorization: auth });
  const reuseAlarms = () => seen.filter((e) => e.type === 'token.reuse_detected').length;
  const outcome = async (name: string) => Number(new RegExp(`^baton_refresh_total\\{outcome="${name}"\\} (\\d+)`, 'm').exec(await (await fetch(`${env.baton.url}/metrics`)).text())?.[1] ?? 0);

  /** A sign-in at the upstream through passthrough `id`: the app's openid-client and its first refresh token. */
  async function signIn(id: Id) {
    const { user, clientId, secret } = SUBJECTS[id];
    const rp = await app(env.issuer(id), clientId, secret);
    const tokens = await redeem(rp, await authorize(page, env, rp, user));
    return { rp, first: tokens.refresh_token!, sub: tokens.claims()!.sub };
  }

  it.each(['crm-handle', 'crm', 'mail'] as const)('%s: a retry with the just-rotated token inside the window gets the same successor and fresh tokens; the session goes on', async (id) => {
    const { rp, first, sub } = await signIn(id);
    const [before, replays] = [upstreamRefreshes(id), await outcome('grace_replay')];
    const rotated = await client.refreshTokenGrant(rp, first);
    // The response was lost: the app retries with the token it still holds (openid-client validates the id_token).
    const again = await client.refreshTokenGrant(rp, first);
    expect(again.refresh_token).toBe(rotated.refresh_token);
    expect(decodeJwt(again.access_token).jti).not.toBe(decodeJwt(rotated.access_token).jti);
    expect(again.claims()).toMatchObject({ iss: env.issuer(id), sub, aud: SUBJECTS[id].clientId });
    expect(await client.fetchUserInfo(rp, again.access_token, sub)).toMatchObject({ sub });
    // One upstream refresh: the replay did not call the upstream (Entra would have seen its rotated token again).
    expect(upstreamRefreshes(id) - before).toBe(1);
    expect(await outcome('grace_replay')).toBe(replays + 1);
    expect(seen.some((e) => e.type === 'token.grace_replay' && e.clientId === SUBJECTS[id].clientId)).toBe(true);
    const next = await client.refreshTokenGrant(rp, again.refresh_token!);
    expect(next.claims()).toMatchObject({ sub });
    expect((await client.refreshTokenGrant(rp, next.refresh_token!)).access_token).toBeTruthy();
  });

  it.each(['crm-handle', 'crm', 'mail'] as const)('%s: 10 concurrent refreshes with one token: all 200 with one successor, one upstream refresh, the session lives', async (id) => {
    const { first } = await signIn(id);
    const [before, rotatedBefore, alarms] = [upstreamRefreshes(id), await outcome('rotated'), reuseAlarms()];
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(id, first)));
    expect(results.map((r) => (r.status === 200 ? 200 : r.json))).toEqual(Array(10).fill(200));
    expect(new Set(results.map((r) => r.json.refresh_token)).size).toBe(1);
    expect(new Set(results.map((r) => decodeJwt(String(r.json.access_token)).jti)).size).toBe(10);
    expect(upstreamRefreshes(id) - before).toBe(1);
    expect(await outcome('rotated')).toBe(rotatedBefore + 1);
    expect((await refresh(id, String(results[3]!.json.refresh_token))).status).toBe(200);
    expect(reuseAlarms()).toBe(alarms);
  });

  it('after the window the rotated handle is reuse: invalid_grant, and the chain is ended (the successor no longer works)', async () => {
    const { rp, first } = await signIn('crm-brief');
    const rotated = await client.refreshTokenGrant(rp, first);
    await new Promise((resolve) => setTimeout(resolve, BRIEF_GRACE * 1000 + 600));
    const alarms = reuseAlarms();
    // Without the client's secret, an old token ends nothing (the upstream refuses the client first).
    const stranger = await refresh('crm-brief', first, basic('crm-app', 'not-the-crm-secret-0123'));
    expect(stranger).toMatchObject({ status: 401, json: { error: 'invalid_client' } });
    expect(reuseAlarms()).toBe(alarms);
    const late = await refresh('crm-brief', first);
    expect(late).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(late.json.refresh_token).toBeUndefined();
    expect(reuseAlarms()).toBe(alarms + 1);
    expect(await rejection(client.refreshTokenGrant(rp, rotated.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it.each(['crm-handle', 'crm'] as const)('%s: inside the window, once the successor itself was used, the old token is reuse and the chain ends', async (id) => {
    const { rp, first } = await signIn(id);
    const rotated = await client.refreshTokenGrant(rp, first);
    const next = await client.refreshTokenGrant(rp, rotated.refresh_token!);
    expect(await rejection(client.refreshTokenGrant(rp, first))).toMatchObject({ error: 'invalid_grant' });
    // Handle: Baton ended the family; JWE: the upstream (Entra) saw its rotated token again and revoked its grant.
    expect(await rejection(client.refreshTokenGrant(rp, next.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it.each(['crm-handle', 'crm'] as const)('%s: another client presenting the token gets invalid_grant, never the successor, and ends nothing', async (id) => {
    const { rp, first } = await signIn(id);
    const other = await app(env.issuer(id), 'other-app', SECRETS.other, 'post');
    const stranger = async () => rejection(client.refreshTokenGrant(other, first));
    const [before, alarms] = [upstreamRefreshes(id), reuseAlarms()];
    expect(await stranger()).toMatchObject({ error: 'invalid_grant' });
    const rotated = await client.refreshTokenGrant(rp, first);
    expect(await stranger()).toMatchObject({ error: 'invalid_grant' });
    expect(upstreamRefreshes(id) - before).toBe(1);
    expect(reuseAlarms()).toBe(alarms);
    // The owner's retry and its successor still work.
    expect((await client.refreshTokenGrant(rp, first)).refresh_token).toBe(rotated.refresh_token);
    expect((await client.refreshTokenGrant(rp, rotated.refresh_token!)).access_token).toBeTruthy();
  });

  it('inside the window, a retry with a wrong secret is 401 invalid_client and gets nothing; the right one then gets the successor', async () => {
    const { rp, first } = await signIn('crm-handle');
    const rotated = await client.refreshTokenGrant(rp, first);
    const wrong = await refresh('crm-handle', first, basic('crm-app', 'not-the-crm-secret-0123'));
    expect(wrong).toMatchObject({ status: 401, json: { error: 'invalid_client' } });
    expect(wrong.json.refresh_token).toBeUndefined();
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect((await refresh('crm-handle', first)).json.refresh_token).toBe(rotated.refresh_token);
  });

  it('refreshTokenReuseGrace 0 keeps strict single use: the second presentation is reuse and ends the chain', async () => {
    const { rp, first } = await signIn('crm-strict');
    const rotated = await client.refreshTokenGrant(rp, first);
    const alarms = reuseAlarms();
    expect(await rejection(client.refreshTokenGrant(rp, first))).toMatchObject({ error: 'invalid_grant' });
    expect(reuseAlarms()).toBe(alarms + 1);
    expect(await rejection(client.refreshTokenGrant(rp, rotated.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it('the store never holds the successor nor the client secret in a usable form; malformed requests are invalid_request', async () => {
    const { rp, first } = await signIn('crm-handle');
    const rotated = await client.refreshTokenGrant(rp, first);
    const record = await env.baton.baton.store.getRecord(ROTATION_KIND, tokenKey(first));
    expect(record?.value).toMatchObject({ state: 'rotated', clientId: 'crm-app' });
    const text = JSON.stringify(record);
    for (const secret of [rotated.refresh_token!, first, SECRETS.crm, basic('crm-app', SECRETS.crm)]) expect(text).not.toContain(secret);
    const token = `${env.issuer('crm-handle')}/token`;
    const auth = { authorization: basic('crm-app', SECRETS.crm) };
    expect((await postForm(token, 'grant_type=refresh_token', auth)).json).toMatchObject({ error: 'invalid_request', error_description: 'refresh_token is required' });
    expect((await postForm(token, `grant_type=refresh_token&refresh_token=${first}&refresh_token=${first}`, auth)).json).toMatchObject({ error: 'invalid_request' });
    expect((await postForm(token, 'grant_type=refresh_token&refresh_token=forged', auth)).json).toMatchObject({ error: 'invalid_grant' });
  });
});
