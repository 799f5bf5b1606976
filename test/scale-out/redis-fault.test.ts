// Faults: the test's own redis-server (never the machine's) is stopped while Baton runs on the split
// store: /readyz fails, a token request that needs Redis gets a clean 5xx within a bound, and once
// Redis is back Baton recovers by itself; refresh tokens issued before the fault still work.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { freePort, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

const dir = mkdtempSync(join(tmpdir(), 'baton-redis-fault-'));
let redisPort: number;
let redis: ChildProcess | undefined;
let baton: RunningBaton;

async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = spawn('redis-cli', ['-p', String(redisPort), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      probe.stdout.on('data', (c: Buffer) => { out += c.toString(); });
      probe.on('exit', () => resolve(out.includes('PONG')));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the test redis-server did not start');
}

async function stopRedis(): Promise<void> {
  const child = redis;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid!, 'SIGKILL');
  await exited;
}

beforeAll(async () => {
  redisPort = await freePort();
  await startRedis();
  baton = await startBaton({
    ...standardConfig,
    storage: { type: 'split', durable: { type: 'sqlite', path: join(dir, 'baton.db') }, shortLived: { type: 'redis', url: `redis://127.0.0.1:${redisPort}`, keyPrefix: 'fault:', timeout: '1s' } },
  });
});
afterAll(async () => {
  await baton?.stop();
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
});

const codeGrant = async () => {
  const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT });
  return new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier });
};
const token = (body: URLSearchParams) => postForm(`${baton.url}/token`, body, { authorization: basic('web', TEST_ENV.WEB_SECRET) });

describe('Redis stopped during a run', () => {
  it('fails cleanly and quickly while Redis is down, then recovers by itself', async () => {
    const before = await token(await codeGrant());
    expect(before.status).toBe(200);
    const pendingBody = await codeGrant();

    await stopRedis();
    const ready = await fetch(`${baton.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.storage).toBe('failing');

    const started = Date.now();
    const during = await token(pendingBody);
    // Issue 12 item 15: this was a 500 server_error; an outage is 503 temporarily_unavailable.
    expect(during.status).toBe(503);
    expect(during.json.error).toBe('temporarily_unavailable');
    expect(during.headers.get('retry-after')).toBe('5');
    expect(during.text).not.toMatch(/redis|ECONNREFUSED|at .+:\d+/i);
    expect(Date.now() - started).toBeLessThan(5000);

    await startRedis();
    await expect.poll(async () => (await fetch(`${baton.url}/readyz`)).status, { timeout: 10_000, interval: 200 }).toBe(200);

    // The refresh token issued before the fault (durable side) still works after it.
    const refreshed = await token(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(before.json.refresh_token) }));
    expect(refreshed.status).toBe(200);
    // And new sign-ins work again.
    expect((await token(await codeGrant())).status).toBe(200);
  });
});
