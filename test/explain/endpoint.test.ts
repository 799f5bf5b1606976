// GET {issuer}/explain/{requestId}: a confidential client reads the traces of its own requests,
// `explain.readers` read any; no or wrong credentials, a public client, another client's trace,
// an unknown, malformed or oversized id, another method, and storage down are all refused without
// telling which request ids exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TEST_ENV } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { API, AUDITOR_SECRET, readTrace, startEnvironment, type Environment } from './environment.ts';

let env: Environment;
let serviceRequest: string;
beforeAll(async () => {
  env = await startEnvironment();
  const res = await postForm(`${env.baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
  expect(res.status).toBe(200);
  serviceRequest = res.headers.get('x-request-id')!;
  // Stored after the response: wait until the owner can read it.
  for (let i = 0; i < 40 && (await readTrace(env.baton.url, serviceRequest, 'service', TEST_ENV.SERVICE_SECRET)).status !== 200; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
afterAll(() => env?.stop());

describe('GET /explain/{requestId}', () => {
  it('the client of the request reads its trace as JSON, never cached', async () => {
    const res = await readTrace(env.baton.url, serviceRequest, 'service', TEST_ENV.SERVICE_SECRET);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.body).toMatchObject({ requestId: serviceRequest, request: { clientId: 'service', grantType: 'client_credentials' } });
  });

  it('a client listed in explain.readers reads any trace', async () => {
    expect((await readTrace(env.baton.url, serviceRequest, 'auditor', AUDITOR_SECRET)).status).toBe(200);
  });

  it('another client gets 404 for it, exactly as for an unknown id', async () => {
    const other = await readTrace(env.baton.url, serviceRequest, 'web', TEST_ENV.WEB_SECRET);
    const unknown = await readTrace(env.baton.url, 'no-such-request', 'web', TEST_ENV.WEB_SECRET);
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(other.body).toEqual(unknown.body);
  });

  it('without credentials, with a wrong secret, or as a public client: 401 invalid_client, before any lookup', async () => {
    for (const res of [
      await readTrace(env.baton.url, serviceRequest),
      await readTrace(env.baton.url, serviceRequest, 'service', 'wrong-secret-0123456789'),
      await readTrace(env.baton.url, serviceRequest, 'spa', ''),
      await readTrace(env.baton.url, serviceRequest, 'nobody', 'x'),
      await readTrace(env.baton.url, serviceRequest, undefined, undefined, { headers: { authorization: 'Bearer abc' } }),
      await readTrace(env.baton.url, serviceRequest, undefined, undefined, { headers: { authorization: `Basic ${'A'.repeat(5000)}` } }),
    ]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(JSON.stringify(res.body)).not.toContain('orders');
    }
  });

  it('a malformed or oversized id is a 404 like any unknown id', async () => {
    for (const id of ['bad%20id', 'a'.repeat(65), '%00', '..%2F..%2Fetc']) {
      const res = await readTrace(env.baton.url, id, 'auditor', AUDITOR_SECRET);
      expect(res.status, id).toBe(404);
    }
  });

  it('another method: 405 with Allow: GET', async () => {
    const res = await readTrace(env.baton.url, serviceRequest, 'service', TEST_ENV.SERVICE_SECRET, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    const del = await readTrace(env.baton.url, serviceRequest, 'auditor', AUDITOR_SECRET, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect((await readTrace(env.baton.url, serviceRequest, 'service', TEST_ENV.SERVICE_SECRET)).status).toBe(200);
  });

  it('storage down: 503 temporarily_unavailable, then back to normal', async () => {
    env.failReads(true);
    try {
      const res = await readTrace(env.baton.url, serviceRequest, 'service', TEST_ENV.SERVICE_SECRET);
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('temporarily_unavailable');
    } finally {
      env.failReads(false);
    }
    expect((await readTrace(env.baton.url, serviceRequest, 'service', TEST_ENV.SERVICE_SECRET)).status).toBe(200);
  });

  it('a trace cannot be overwritten by a request sending the same X-Request-Id', async () => {
    const res = await fetch(`${env.baton.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('auditor', AUDITOR_SECRET), 'x-request-id': serviceRequest },
      body: 'grant_type=client_credentials',
    });
    expect(res.headers.get('x-request-id')).toBe(serviceRequest);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const trace = await readTrace(env.baton.url, serviceRequest, 'service', TEST_ENV.SERVICE_SECRET);
    expect(trace.status).toBe(200);
    expect(trace.body).toMatchObject({ request: { clientId: 'service' } });
  });

  it('a request that names a client without authenticating is traced as nobody\'s: that client never reads it, a reader does', async () => {
    const expected = `proxy-${Date.now()}`;
    // A wrong secret, in the Authorization header and in the body.
    for (const [headers, credentials] of [[{ authorization: basic('service', 'wrong-secret-0123456789') }, ''], [{}, '&client_id=service&client_secret=wrong-secret-0123456789']] as const) {
      const planted = await fetch(`${env.baton.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers, 'x-request-id': expected },
        body: `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=orders:read${credentials}`,
      });
      expect([planted.status, (await planted.json() as { error?: string }).error]).toEqual([401, 'invalid_client']);
    }
    let read = await readTrace(env.baton.url, expected, 'auditor', AUDITOR_SECRET);
    for (let i = 0; i < 40 && read.status !== 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      read = await readTrace(env.baton.url, expected, 'auditor', AUDITOR_SECRET);
    }
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ requestId: expected, request: { grantType: 'client_credentials' }, result: { outcome: 'refused', error: 'invalid_client' } });
    expect(read.body.request).not.toHaveProperty('clientId');
    expect((await readTrace(env.baton.url, expected, 'service', TEST_ENV.SERVICE_SECRET)).status).toBe(404);
  });
});
