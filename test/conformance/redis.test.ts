// The Redis backend when Redis is absent, mute or restarted: calls reject within about the timeout
// (never hang), and the same RedisStore works again once a server is back on its port.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { RedisStore } from '../../src/storage/redis/redis-store.ts';
import { SplitStore } from '../../src/storage/split/split-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { REDIS_URL, dropPrefix, requireRedis, uniquePrefix, withRedis } from './redis-fixture.ts';

const TIMEOUT_S = 1;
/** A call must settle within the timeout plus this much scheduling slack. */
const SLACK_MS = 750;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function openStore(port: number): RedisStore {
  const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, keyPrefix: uniquePrefix(), timeout: TIMEOUT_S });
  cleanups.push(() => store.close());
  return store;
}

/** Resolves to how the call settled and how long it took. */
async function settle(call: () => Promise<unknown>): Promise<{ outcome: 'resolved' | 'rejected'; ms: number; error?: string }> {
  const start = performance.now();
  try {
    await call();
    return { outcome: 'resolved', ms: performance.now() - start };
  } catch (error) {
    return { outcome: 'rejected', ms: performance.now() - start, error: error instanceof Error ? error.message : String(error) };
  }
}

async function expectQuickRejection(call: () => Promise<unknown>): Promise<void> {
  const result = await settle(call);
  expect(result.outcome).toBe('rejected');
  expect(result.ms).toBeLessThan(TIMEOUT_S * 1000 + SLACK_MS);
}

/** A test-owned redis-server on `port`, without persistence, killed by PID on cleanup. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`cannot start redis-server (is it installed?): ${e.message}`))));
  cleanups.push(() => stopRedis(child));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await Promise.race([withRedis((r) => r.ping(), `redis://127.0.0.1:${port}`).then(() => true, () => false), spawnError]);
    if (up) return child;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid!, 'SIGKILL');
  await exited;
}

describe('Redis backend without a server', () => {
  it('a port with nothing listening: ping, find and writes reject within about the timeout', async () => {
    const store = openStore(await freePort());
    await expectQuickRejection(() => store.ping());
    await expectQuickRejection(() => store.find('Session', 's1'));
    await expectQuickRejection(() => store.putRecord('keys', 'k', 'v'));
    const [ping, consume] = await Promise.all([settle(() => store.ping()), settle(() => store.consume('AuthorizationCode', 'c1'))]);
    expect(ping.error).toMatch(/Redis is not reachable/);
    expect(consume.outcome).toBe('rejected');
  });

  it('a server that accepts connections but never answers: calls reject within about the timeout', async () => {
    const sockets: Socket[] = [];
    const mute: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      mute.close(() => resolve());
    }));
    const store = openStore((mute.address() as { port: number }).port);
    await expectQuickRejection(() => store.ping());
    await expectQuickRejection(() => store.upsert('Session', 's1', { uid: 'u1' }));
  });
});

describe('Redis backend across a server restart', () => {
  it('calls reject quickly while the server is down, and the same store recovers when it returns', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'baton-redis-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startRedis(port, dir);
    const store = openStore(port);

    await store.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, 60);
    expect(await store.consume('AuthorizationCode', 'c1')).toBe(true);
    expect(await store.putRecord('keys', 'k', 'v1', { expectedVersion: 0 })).toBe(true);

    // Calls in flight when the server dies settle (either way) within the bound; none hangs.
    const inFlight = Array.from({ length: 20 }, (_, i) => settle(() => store.putRecord('keys', `k${i}`, i)));
    await stopRedis(first);
    for (const result of await Promise.all(inFlight)) expect(result.ms).toBeLessThan(TIMEOUT_S * 1000 + SLACK_MS);

    await expectQuickRejection(() => store.ping());
    await expectQuickRejection(() => store.find('AuthorizationCode', 'c1'));
    await expectQuickRejection(() => store.consume('AuthorizationCode', 'c1'));
    await expectQuickRejection(() => store.putRecord('keys', 'k', 'v2'));

    await startRedis(port, dir);
    const deadline = Date.now() + 10_000;
    while ((await settle(() => store.ping())).outcome === 'rejected') {
      if (Date.now() > deadline) throw new Error('the store did not reconnect within 10 s of the server returning');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // A fresh server without persistence: the data is gone, the scripts are reloaded (NOSCRIPT), and everything works.
    expect(await store.find('AuthorizationCode', 'c1')).toBeUndefined();
    await store.upsert('AuthorizationCode', 'c2', { grantId: 'g2', uid: 'u2' }, 60);
    expect(await store.consume('AuthorizationCode', 'c2')).toBe(true);
    expect(await store.consume('AuthorizationCode', 'c2')).toBe(false);
    expect(await store.findByUid('AuthorizationCode', 'u2')).toMatchObject({ grantId: 'g2' });
    expect(await store.putRecord('keys', 'k', 'v3', { expectedVersion: 0 })).toBe(true);
    expect(await store.getRecord('keys', 'k')).toStrictEqual({ value: 'v3', version: 1 });
    await store.revokeByGrantId('AuthorizationCode', 'g2');
    expect(await store.find('AuthorizationCode', 'c2')).toBeUndefined();
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

describe('Split store routing', () => {
  it('short-lived models and kinds land in Redis, durable and unknown ones in the durable store', async () => {
    await requireRedis();
    const dir = mkdtempSync(join(tmpdir(), 'baton-split-'));
    const keyPrefix = uniquePrefix();
    const redis = new RedisStore({ url: REDIS_URL, keyPrefix, timeout: 5 });
    const sqlite = new SqliteStore({ path: join(dir, 'baton.db') });
    const split = new SplitStore({ shortLived: redis, durable: sqlite });
    cleanups.push(async () => {
      await split.close();
      await dropPrefix(keyPrefix);
      rmSync(dir, { recursive: true, force: true });
    });
    expect(split.kind).toBe('split(redis+sqlite)');

    const shortModels = ['Interaction', 'AuthorizationCode', 'DeviceCode', 'ReplayDetection', 'PushedAuthorizationRequest', 'BackchannelAuthenticationRequest', 'AccessToken', 'ClientCredentials'];
    const durableModels = ['Grant', 'RefreshToken', 'Session', 'Client', 'SomeFutureModel'];
    const shortKinds = ['upstream-login', 'interaction-denial', 'upstream-stash', 'authorizer-decision', 'hook-cache', 'device-poll', 'token-exchange-replay', 'bff-login'];
    const durableKinds = ['account', 'keyset', 'upstream-vault', 'bff-session', 'some-future-kind'];
    for (const model of [...shortModels, ...durableModels]) await split.upsert(model, 'id', { grantId: 'g1' }, 60);
    for (const kind of [...shortKinds, ...durableKinds]) await split.putRecord(kind, 'id', { kind });

    for (const model of shortModels) expect([model, await redis.find(model, 'id'), await sqlite.find(model, 'id')]).toStrictEqual([model, { grantId: 'g1' }, undefined]);
    for (const model of durableModels) expect([model, await redis.find(model, 'id'), await sqlite.find(model, 'id')]).toStrictEqual([model, undefined, { grantId: 'g1' }]);
    for (const kind of shortKinds) expect([kind, await redis.getRecord(kind, 'id'), await sqlite.getRecord(kind, 'id')]).toStrictEqual([kind, { value: { kind }, version: 1 }, undefined]);
    for (const kind of durableKinds) expect([kind, await redis.getRecord(kind, 'id'), await sqlite.getRecord(kind, 'id')]).toStrictEqual([kind, undefined, { value: { kind }, version: 1 }]);

    // revokeByGrantId goes to the store owning the model.
    await split.revokeByGrantId('AccessToken', 'g1');
    await split.revokeByGrantId('RefreshToken', 'g1');
    expect(await redis.find('AccessToken', 'id')).toBeUndefined();
    expect(await sqlite.find('RefreshToken', 'id')).toBeUndefined();
    expect(await sqlite.find('Grant', 'id')).toStrictEqual({ grantId: 'g1' });
  });
});
