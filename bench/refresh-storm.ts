// Benchmark: a refresh storm. Two `baton start` processes on one Redis (a shared store, as behind a
// load balancer), an upstream oidc-provider that rotates refresh tokens with reuse detection and
// issues short-lived access tokens, an authorizer with a scripted outage in the middle. Many users,
// each signed in to two apps through one upstream sign-in (the second app through the Baton session,
// so both renew one upstream session), several browser tabs per app: an app's tabs share one Baton
// refresh token chain (as tabs share storage) and all refresh when a round starts, spread over both
// instances. Prints figures, never
// pass/fail: refreshes per second, sessions lost (target 0), upstream refresh calls per upstream
// expiry (target 1), false reuse alarms (target 0). Talks only to 127.0.0.1; stops by itself.
//   npm run bench:refresh-storm   (= node --import tsx bench/refresh-storm.ts)
//   env: BENCH_DURATION (20 s), BENCH_USERS (20), BENCH_APPS (2), BENCH_TABS (3), BENCH_ROUND (3 s),
//        BENCH_OUTAGE (4 s, centred), BENCH_REDIS_URL (redis://127.0.0.1:6379)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { dropPrefix, uniquePrefix } from '../test/conformance/redis-fixture.ts';
import { spawnBaton, type BatonProcess } from '../test/helpers/baton-process.ts';
import { TEST_ENV, TEST_MASTER_SECRET } from '../test/helpers/baton.ts';
import { startUpstream, type Upstream } from '../test/helpers/upstream.ts';
import { CookieAgent, signIn, type SignInTarget } from '../test/helpers/http-sign-in.ts';
import { NAMESPACE, startAuthorizer, type BenchAuthorizer } from './refresh-storm-parts.ts';
import { envNumber, freePort, recordSummary } from './support.ts';

const DURATION = envNumber('BENCH_DURATION', 20);
const USERS = Math.round(envNumber('BENCH_USERS', 20));
const TABS = Math.round(envNumber('BENCH_TABS', 3));
const APPS = Math.min(2, Math.round(envNumber('BENCH_APPS', 2)));
const APP_IDS = ['web', 'web2'].slice(0, APPS);
/** Seconds between rounds: longer than an upstream access token stays outside Baton's 30 s expiry margin. */
const ROUND = envNumber('BENCH_ROUND', 3);
const OUTAGE = envNumber('BENCH_OUTAGE', 4);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Upstream access tokens live 32 s: Baton renews 30 s early, so each is "expired" 2 s after it was issued. */
const UPSTREAM_TTL = 32;
const API = 'https://orders.bench.example';
const SECRET = 'upstream-client-secret-0123456789';
/** Retries of a tab whose refresh failed with a 5xx (a real client retries), 300 ms apart. */
const RETRIES = 3;
/** Hard stop: whatever happens, the benchmark ends (and cleans up) after this. */
const HARD_LIMIT_MS = (DURATION + 120) * 1000;

/** One app of one user: the refresh token chain its tabs share. */
interface User { name: string; clientId: string; refreshToken: string; lost: boolean }
interface Tally { ok: number; failed5xx: number; lostBy: Record<string, number>; userRoundsServed: number; latencies: number[] }

async function refresh(at: BatonProcess, target: SignInTarget, token: string, clientId: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${at.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${target.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, resource: API }).toString(),
  });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

/** One tab: refresh with the user's current token (re-read on each retry, as tabs share storage). */
async function tab(user: User, at: BatonProcess, target: SignInTarget, tally: Tally): Promise<boolean> {
  await sleep(Math.random() * 50);
  for (let attempt = 0; attempt <= RETRIES && !user.lost; attempt += 1) {
    const presented = user.refreshToken;
    const started = performance.now();
    const { status, body } = await refresh(at, target, presented, user.clientId);
    tally.latencies.push(performance.now() - started);
    if (status === 200) {
      tally.ok += 1;
      if (user.refreshToken === presented) user.refreshToken = String(body.refresh_token);
      return true;
    }
    if (status >= 500) {
      tally.failed5xx += 1;
      await sleep(300);
      continue;
    }
    const error = String(body.error ?? status);
    tally.lostBy[error] = (tally.lostBy[error] ?? 0) + 1;
    user.lost = true;
  }
  return false;
}

function countReuseAlarms(files: readonly string[]): number {
  let alarms = 0;
  for (const file of files) {
    try {
      for (const line of readFileSync(file, 'utf8').split('\n')) if (line.includes('"type":"token.reuse_detected"')) alarms += 1;
    } catch {
      // no audit file: the instance recorded nothing
    }
  }
  return alarms;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-refresh-storm-'));
  const keyPrefix = uniquePrefix();
  const instances: BatonProcess[] = [];
  let idp: Upstream | undefined;
  let authorizer: BenchAuthorizer | undefined;
  const hardStop = setTimeout(() => { console.error('refresh-storm: hard time limit reached, stopping'); process.exitCode = 1; void cleanup().finally(() => process.exit(1)); }, HARD_LIMIT_MS);
  hardStop.unref();
  async function cleanup(): Promise<void> {
    await Promise.all(instances.map((i) => i.stop().catch(() => undefined)));
    await Promise.all([idp?.stop().catch(() => undefined), authorizer?.close().catch(() => undefined)]);
    await dropPrefix(keyPrefix, REDIS_URL).catch((err: unknown) => console.error(`could not delete the Redis keys under ${keyPrefix}: ${String(err)}`));
    if (process.env.BATON_TEST_LOG) console.log(`Baton logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  process.once('SIGINT', () => { void cleanup().finally(() => process.exit(130)); });

  try {
    const [portA, portB, portAuthorizer] = [await freePort(), await freePort(), await freePort()];
    const issuer = `http://127.0.0.1:${portA}`;
    const redirectUri = 'http://127.0.0.1:9/app/callback';
    console.log(`refresh storm: ${USERS} users x ${APPS} apps x ${TABS} tabs, rounds every ${ROUND} s for ${DURATION} s, authorizer outage ${OUTAGE} s in the middle; 2 Baton processes on Redis; upstream access tokens ${UPSTREAM_TTL} s (renewed 30 s early); node ${process.version}`);

    idp = await startUpstream({
      profile: 'generic',
      accessTokenTTL: UPSTREAM_TTL,
      clients: [{ client_id: 'baton', client_secret: SECRET, redirect_uris: [`${issuer}/callback/corp`] }],
      users: Array.from({ length: USERS }, (_, i) => ({ username: `user${i}`, password: `pw-${i}`, claims: { email: `user${i}@example.org`, email_verified: true } })),
    });
    // The upstream's reuse detection: a rotated refresh token presented again revokes its grant
    // there (revocations Baton asks for when a grant ends are not counted).
    let upstreamRevocations = 0;
    idp.provider.on('grant.revoked', (ctx: { oidc?: { route?: string } }) => { if (ctx?.oidc?.route === 'token') upstreamRevocations += 1; });
    authorizer = await startAuthorizer(portAuthorizer);

    const raw = (audit: string) => ({
      issuer,
      keys: { masterSecret: TEST_MASTER_SECRET },
      storage: { type: 'redis', url: REDIS_URL, keyPrefix },
      audit: { output: 'file', file: audit },
      resources: [{ id: API, scopes: [`${NAMESPACE}read`] }],
      authorizers: [{ id: 'orders', url: authorizer!.url, namespace: NAMESPACE, timeout: '1s', cacheTTL: 0 }],
      upstreams: [{ id: 'corp', issuer: idp!.issuer, clientId: 'baton', clientSecret: SECRET, timeout: '5s' }],
      clients: APP_IDS.map((client_id) => ({ client_id, client_secret: '${WEB_SECRET}', redirect_uris: [redirectUri], resources: [{ id: API }] })),
    });
    const audits = [join(dir, 'audit-a.jsonl'), join(dir, 'audit-b.jsonl')];
    instances.push(...(await Promise.all([spawnBaton(raw(audits[0]!), portA, dir, 'a'), spawnBaton(raw(audits[1]!), portB, dir, 'b')])));

    const target: SignInTarget = { issuer, clientId: 'web', secret: TEST_ENV.WEB_SECRET, redirectUri, scope: `openid email offline_access ${NAMESPACE}read`, resource: API };
    const users: User[] = [];
    for (let i = 0; i < USERS; i += 1) {
      const browser = new CookieAgent();
      for (const clientId of APP_IDS) users.push({ name: `user${i}`, clientId, refreshToken: await signIn({ ...target, clientId }, `user${i}`, `pw-${i}`, browser), lost: false });
    }
    console.log(`${USERS} users signed in to ${APPS} app(s) each (one upstream sign-in each: ${idp.counters.authorize} at the upstream)`);

    // Let every sign-in's upstream access token enter the expiry margin before the first round.
    await sleep((UPSTREAM_TTL - 30 + 0.5) * 1000);
    const upstreamBefore = idp.counters.refresh;
    const tally: Tally = { ok: 0, failed5xx: 0, lostBy: {}, userRoundsServed: 0, latencies: [] };
    const started = performance.now();
    const outageFrom = (DURATION - OUTAGE) / 2;
    let rounds = 0;
    while ((performance.now() - started) / 1000 < DURATION) {
      const roundStart = performance.now();
      const at = (roundStart - started) / 1000;
      authorizer.down = at >= outageFrom && at < outageFrom + OUTAGE;
      const served = await Promise.all(users.filter((u) => !u.lost).map(async (app, a) => {
        const results = await Promise.all(Array.from({ length: TABS }, (_, t) => tab(app, instances[(a + t) % 2]!, target, tally)));
        return results.some(Boolean) ? app.name : undefined;
      }));
      // One upstream session per user, however many of its apps were served this round.
      tally.userRoundsServed += new Set(served.filter(Boolean)).size;
      rounds += 1;
      const left = ROUND * 1000 - (performance.now() - roundStart);
      if (left > 0) await sleep(left);
    }
    authorizer.down = false;
    const elapsed = (performance.now() - started) / 1000;
    const upstreamCalls = idp.counters.refresh - upstreamBefore;
    // Give the audit logs (buffered) a moment, then stop the instances so they flush.
    await Promise.all(instances.map((i) => i.stop()));
    const alarms = countReuseAlarms(audits);

    const lost = new Set(users.filter((u) => u.lost).map((u) => u.name)).size;
    const lostApps = users.filter((u) => u.lost).length;
    const sorted = [...tally.latencies].sort((a, b) => a - b);
    const p = (q: number) => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    const perExpiry = tally.userRoundsServed === 0 ? 0 : upstreamCalls / tally.userRoundsServed;
    console.log('');
    console.log(`rounds                                   ${rounds} in ${elapsed.toFixed(1)} s (authorizer down for ${OUTAGE} s from ${outageFrom.toFixed(1)} s; it refused ${authorizer.calls.refused} decisions)`);
    console.log(`refreshes per second                     ${(tally.ok / elapsed).toFixed(1)}  (${tally.ok} succeeded; p50 ${p(0.5).toFixed(0)} ms, p99 ${p(0.99).toFixed(0)} ms; ${tally.failed5xx} answered 5xx and were retried)`);
    console.log(`sessions lost                            ${lost} of ${USERS} users (${lostApps} of ${users.length} app sessions)  (target 0)${lost > 0 ? `  ended by: ${Object.entries(tally.lostBy).map(([e, n]) => `${e} x${n}`).join(', ')}` : ''}`);
    console.log(`upstream refresh calls per expiry        ${perExpiry.toFixed(2)}  (target 1: ${upstreamCalls} calls for ${tally.userRoundsServed} user-rounds that found the upstream token expired and were served)`);
    console.log(`false reuse alarms                       ${alarms}  (target 0: token.reuse_detected in the audit logs; nobody stole anything here)`);
    console.log(`upstream revocations (its reuse detection) ${upstreamRevocations}`);
    if (lost > 0 || alarms > 0) {
      console.log('\nnote: tabs of one app present one Baton refresh token at once: without a reuse grace window (issue 13 item 1) all but one are reuse, which revokes the family.');
      console.log('      a 5xx (the authorizer outage) after the refresh token was spent makes the retry reuse too, unless tokens are spent only on success (issue 13 item 2).');
    }

    recordSummary([
      { benchmark: 'refresh_storm', figure: 'refreshes per second', value: (tally.ok / elapsed).toFixed(1) },
      { benchmark: 'refresh_storm', figure: 'sessions lost', value: `${lost} of ${USERS}`, target: '0' },
      { benchmark: 'refresh_storm', figure: 'upstream refresh calls per upstream expiry', value: perExpiry.toFixed(2), target: '1' },
      { benchmark: 'refresh_storm', figure: 'false reuse alarms', value: String(alarms), target: '0' },
    ]);
  } finally {
    clearTimeout(hardStop);
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
