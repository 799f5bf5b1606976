// The abuse limits across instances: two Batons sharing one store (Redis, then PostgreSQL) count
// password failures and device user-code submissions together, an instance started later (a
// restart) still sees them, and one client address's failures do not lock another address out.
// The proxy in front of the instances is played by X-Forwarded-For (server.trustProxy). When the
// store cannot count, the limited requests fail closed with a clean server_error.
import { fileURLToPath } from 'node:url';

import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load.ts';
import type { BatonConfig } from '../../src/config/schema.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import type { StoredRecord } from '../../src/storage/store.ts';
import { createBaton, type Baton } from '../../src/server.ts';
import { freePort, startBaton, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';

const RIGHT_PASSWORD = 'correct horse battery staple';
const HOOKS_DIR = fileURLToPath(new URL('../orchestration/fixtures/', import.meta.url));

interface Shared {
  readonly name: string;
  readonly storage: () => Promise<{ storage: Record<string, unknown>; drop: () => Promise<void> }>;
}

const backends: Shared[] = [
  { name: 'Redis', storage: async () => {
    await requireRedis();
    const keyPrefix = uniquePrefix();
    return { storage: { type: 'redis', url: REDIS_URL, keyPrefix }, drop: () => dropPrefix(keyPrefix) };
  } },
  { name: 'PostgreSQL', storage: async () => {
    await requirePostgres();
    const schema = uniqueSchema('limits');
    return { storage: { type: 'postgres', url: POSTGRES_URL, schema }, drop: () => dropSchema(schema) };
  } },
];

describe.each(backends)('abuse limits on two instances sharing $name', ({ storage }) => {
  const running: { baton: Baton; url: string }[] = [];
  const events: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({
    write(line: Buffer, _encoding, done) {
      const { event } = JSON.parse(line.toString()) as { event?: string };
      if (event?.startsWith('password.')) events.push(event);
      done();
    },
  }));
  let config: BatonConfig;
  let drop: () => Promise<void>;
  let a: string;
  let b: string;

  const start = async () => {
    const port = await freePort();
    const baton = await createBaton(config, { logger, keyReloadInterval: 0, configDir: HOOKS_DIR });
    await baton.listen(port, '127.0.0.1');
    running.push({ baton, url: `http://127.0.0.1:${port}` });
    return running.at(-1)!.url;
  };

  beforeAll(async () => {
    const shared = await storage();
    drop = shared.drop;
    const issuerPort = await freePort();
    config = validateConfig({
      issuer: `http://127.0.0.1:${issuerPort}`,
      keys: { masterSecret: TEST_MASTER_SECRET },
      storage: shared.storage,
      server: { trustProxy: true },
      clients: [
        { client_id: 'legacy-app', client_secret: '${WEB_SECRET}', grant_types: ['password'], hooks: { module: './password-hooks.ts' } },
        { client_id: 'kiosk', client_secret: '${WEB_SECRET}', grant_types: ['password'], hooks: { module: './password-hooks.ts' } },
        { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] },
      ],
    }, 'abuse limits', { env: { ...process.env, ...TEST_ENV } });
    a = await start();
    b = await start();
  });
  afterAll(async () => {
    await Promise.all(running.map((r) => r.baton.close()));
    await drop?.();
  });

  const password = (at: string, address: string, username: string, pass: string, clientId = 'legacy-app') =>
    postForm(`${at}/token`, new URLSearchParams({ grant_type: 'password', username, password: pass }), { authorization: basic(clientId, TEST_ENV.WEB_SECRET), 'x-forwarded-for': address });
  const enterCode = (at: string, address: string) => postForm(`${at}/device`, 'user_code=ZZZZZZZZ&xsrf=x', { 'x-forwarded-for': address });
  // Locked or wrong, the client sees the same answer; the right password tells them apart.
  const lockedAnswer = { error: 'invalid_grant', error_description: 'grant request is invalid' };

  it('password failures from one address spread over both instances lock at the 6th attempt, on either; a later instance sees the lock', async () => {
    for (let i = 0; i < 5; i += 1) {
      const refused = await password(i % 2 ? b : a, '198.51.100.1', 'pat', `guess-${i}`);
      expect(refused.json).toStrictEqual(lockedAnswer);
    }
    expect(events.splice(0)).toStrictEqual(Array(5).fill('password.refused'));
    expect((await password(b, '198.51.100.1', 'pat', RIGHT_PASSWORD)).json).toStrictEqual(lockedAnswer);
    expect((await password(a, '198.51.100.1', 'PAT', RIGHT_PASSWORD)).json).toStrictEqual(lockedAnswer);
    expect(events.splice(0)).toStrictEqual(['password.locked', 'password.locked']);
    const restarted = await start();
    expect((await password(restarted, '198.51.100.1', 'pat', RIGHT_PASSWORD)).json).toStrictEqual(lockedAnswer);
  });

  it("another address is not locked out by the first address's failures", async () => {
    const elsewhere = await password(b, '198.51.100.2', 'pat', RIGHT_PASSWORD);
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.json.access_token).toBeTypeOf('string');
  });

  it('a success resets its own address only: 4 failures, a success, then 5 more failures before the lock', async () => {
    for (let i = 0; i < 4; i += 1) await password(a, '198.51.100.3', 'pat', `guess-${i}`);
    expect((await password(b, '198.51.100.3', 'pat', RIGHT_PASSWORD)).status).toBe(200);
    for (let i = 0; i < 5; i += 1) expect((await password(i % 2 ? a : b, '198.51.100.3', 'pat', `again-${i}`)).status).toBe(400);
    expect((await password(a, '198.51.100.3', 'pat', RIGHT_PASSWORD)).json).toStrictEqual(lockedAnswer);
  });

  it('guessing spread over many addresses stops at the ceiling of 50 failures per username, for every address', async () => {
    const guessFrom = async (address: number) => {
      for (let i = 0; i < 5; i += 1) expect((await password(i % 2 ? b : a, `203.0.113.${address}`, 'pat', `guess-${i}`, 'kiosk')).status).toBe(400);
    };
    for (let address = 1; address <= 9; address += 1) await guessFrom(address);
    // 45 failures: a fresh address still signs in (a success resets its own address, not the ceiling).
    expect((await password(a, '192.0.2.77', 'pat', RIGHT_PASSWORD, 'kiosk')).status).toBe(200);
    await guessFrom(10);
    events.splice(0);
    expect((await password(b, '192.0.2.78', 'pat', RIGHT_PASSWORD, 'kiosk')).json).toStrictEqual(lockedAnswer);
    expect((await password(a, '192.0.2.77', 'pat', RIGHT_PASSWORD, 'kiosk')).json).toStrictEqual(lockedAnswer);
    expect(events).toStrictEqual(['password.locked', 'password.locked']);
    // The ceiling is per client and username: the same user through another client is not locked.
    expect((await password(b, '192.0.2.78', 'pat', RIGHT_PASSWORD)).status).toBe(200);
  });

  it('device user-code entry: 20 submissions from one address over both instances, then 429 on either; another address still submits', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) statuses.push((await enterCode(i % 2 ? b : a, '198.51.100.9')).status);
    expect(statuses.every((s) => s === 200)).toBe(true); // no session cookie: sent back to the form (fetch follows)
    const [fromA, fromB] = [await enterCode(a, '198.51.100.9'), await enterCode(b, '198.51.100.9')];
    expect([fromA.status, fromB.status]).toStrictEqual([429, 429]);
    expect(Number(fromB.headers.get('retry-after'))).toBeGreaterThan(290);
    expect(fromB.text).toContain('Too many attempts');
    expect((await enterCode(b, '198.51.100.10')).status).toBe(200);
  });
});

/** A memory store whose attempt counters are unreachable, as when the shared store is down. */
class CountersDown extends MemoryStore {
  override async getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    if (kind.startsWith('attempts:')) throw new Error('connect ECONNREFUSED 10.0.0.7:6379');
    return super.getRecord<T>(kind, id);
  }
}

describe('abuse limits when the store fails', () => {
  let baton: Awaited<ReturnType<typeof startBaton>>;
  beforeAll(async () => {
    baton = await startBaton({
      clients: [
        { client_id: 'legacy-app', client_secret: '${WEB_SECRET}', grant_types: ['password'], hooks: { module: './password-hooks.ts' } },
        { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] },
      ],
    }, { store: new CountersDown(), configDir: HOOKS_DIR });
  });
  afterAll(() => baton?.stop());

  it('the password grant answers server_error, even for the right password, and says nothing of the store', async () => {
    const res = await postForm(`${baton.url}/token`, new URLSearchParams({ grant_type: 'password', username: 'pat', password: RIGHT_PASSWORD }), { authorization: basic('legacy-app', TEST_ENV.WEB_SECRET) });
    expect(res.status).toBe(500);
    expect(res.json.error).toBe('server_error');
    expect(res.text).not.toMatch(/ECONNREFUSED|6379|at .+:\d+/);
  });

  it('user-code entry answers the server_error page with the request id, and says nothing of the store', async () => {
    const res = await fetch(`${baton.url}/device`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: 'user_code=ZZZZZZZZ&xsrf=x', redirect: 'manual' });
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).toContain(`server_error · request ${res.headers.get('x-request-id')}`);
    expect(text).not.toMatch(/ECONNREFUSED|6379|at .+:\d+/);
  });
});
