// Operations: /healthz and /readyz, server_error with a correlation id, and logs that never carry
// secrets, tokens or codes.
import { Writable } from 'node:stream';

import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../src/observability/logger.ts';
import { newRequestId } from '../../src/observability/request-log.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import type { ModelPayload } from '../../src/storage/store.ts';
import { ORDERS_API, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, discover, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

/** A memory store that can be made to fail or hang, standing in for a backend outage. */
class FaultyStore extends MemoryStore {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  failModel: string | undefined;

  override async ping(): Promise<void> {
    if (this.mode === 'fail') throw new Error('connection refused');
    if (this.mode === 'hang') await new Promise(() => {});
    return super.ping();
  }

  override async find(model: string, id: string): Promise<ModelPayload | undefined> {
    if (model === this.failModel) throw new Error(`backend exploded reading ${model}`);
    return super.find(model, id);
  }
}

const lines: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

let baton: RunningBaton;
let store: FaultyStore;
beforeAll(async () => {
  store = new FaultyStore();
  const logger = createLogger('debug', capture);
  baton = await startBaton(standardConfig, { store, logger });
});
afterAll(() => baton.stop());

describe('health', () => {
  it('/healthz answers while the process serves', async () => {
    const res = await fetch(`${baton.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 200 when storage and keys are ready, 503 naming the failing check otherwise', async () => {
    let res = await fetch(`${baton.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { storage: 'ok', keys: 'ok' } });

    store.mode = 'fail';
    res = await fetch(`${baton.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not ready', checks: { storage: 'failing', keys: 'ok' } });
    store.mode = 'ok';
  });

  it('/readyz answers 503 within its timeout when storage hangs', async () => {
    store.mode = 'hang';
    const started = Date.now();
    const res = await fetch(`${baton.url}/readyz`);
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(5000);
    store.mode = 'ok';
  });
});

describe('server errors', () => {
  it('an internal failure is server_error with a request id, and the detail only reaches the log', async () => {
    store.failModel = 'RefreshToken';
    try {
      const res = await postForm(`${baton.url}/token`, 'grant_type=refresh_token&refresh_token=some-refresh-token', { authorization: basic('web', TEST_ENV.WEB_SECRET) });
      expect(res.status).toBe(500);
      expect(res.json.error).toBe('server_error');
      expect(res.text).not.toContain('backend exploded');
      const requestId = res.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'server_error' && l.reqId === requestId);
      expect(JSON.stringify(logged)).toContain('backend exploded reading RefreshToken');
    } finally {
      store.failModel = undefined;
    }
  });

  it('echoes a well-formed inbound X-Request-Id and replaces a malformed one', async () => {
    const ok = await fetch(`${baton.url}/healthz`, { headers: { 'x-request-id': 'lb-abc.123' } });
    expect(ok.headers.get('x-request-id')).toBe('lb-abc.123');
    const bad = await fetch(`${baton.url}/healthz`, { headers: { 'x-request-id': 'x'.repeat(100) } });
    expect(bad.headers.get('x-request-id')).not.toBe('x'.repeat(100));
  });

  it('new request ids are UUIDv7 (RFC 9562): the time in the first 48 bits, unique, sorting by time', async () => {
    const at = Date.UTC(2026, 11, 6, 14, 0, 0, 123);
    const id = newRequestId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
    const many = Array.from({ length: 1000 }, () => newRequestId(at));
    expect(new Set(many).size).toBe(1000);
    expect(newRequestId(at + 1) > newRequestId(at)).toBe(true);
    expect(newRequestId(at + 1000) > newRequestId(at + 999)).toBe(true);
    const served = (await fetch(`${baton.url}/healthz`)).headers.get('x-request-id')!;
    expect(served).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(Math.abs(parseInt(served.slice(0, 8) + served.slice(9, 13), 16) - Date.now())).toBeLessThan(60_000);
  });
});

describe('logs', () => {
  it('never contain client secrets, tokens or authorization codes', async () => {
    const service = await discover(baton.url, 'service', TEST_ENV.SERVICE_SECRET);
    const jwt = (await client.clientCredentialsGrant(service, { resource: ORDERS_API, scope: 'orders:read' })).access_token;
    const opaque = (await client.clientCredentialsGrant(service)).access_token;
    await client.tokenIntrospection(service, opaque);
    await postForm(`${baton.url}/token`, `grant_type=client_credentials&client_id=single-api-service&client_secret=${TEST_ENV.SERVICE_SECRET}`);
    await postForm(`${baton.url}/token`, `grant_type=client_credentials&client_id=single-api-service&client_secret=wrong-secret-value-999`);

    const web = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT });
    const tokens = await client.authorizationCodeGrant(web, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    const rotated = await client.refreshTokenGrant(web, tokens.refresh_token!);
    await client.refreshTokenGrant(web, tokens.refresh_token!); // inside the reuse grace window: the same successor
    await client.refreshTokenGrant(web, rotated.refresh_token!);
    await client.refreshTokenGrant(web, tokens.refresh_token!).catch(() => undefined); // its successor was used: reuse, logged as an event
    await fetch(`${baton.url}/interaction/abc?code=${seeded.code}&token=${jwt}`);

    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of [TEST_ENV.SERVICE_SECRET, TEST_ENV.WEB_SECRET, 'wrong-secret-value-999', jwt, opaque, tokens.access_token, tokens.refresh_token!, tokens.id_token!, rotated.refresh_token!, rotated.access_token, seeded.code, seeded.codeVerifier]) {
      expect(log).not.toContain(secret);
    }
    expect(log).toContain('"path":"/interaction/abc"');
    expect(log).toContain('grant.reuse_detected');
  });

  it('redacts sensitive fields even when a caller logs them by mistake', () => {
    const before = lines.length;
    const logger = createLogger('info', capture);
    logger.info({ client_secret: 's1', body: { refresh_token: 'r1', code: 'c1' }, req: { headers: { authorization: 'Basic x' } } }, 'oops');
    const line = lines.slice(before).join('\n');
    expect(line).not.toMatch(/s1|r1|c1|Basic x/);
    expect(line).toContain('[redacted]');
  });
});
