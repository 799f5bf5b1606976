// Bad input at the token, introspection and revocation endpoints gets the exact RFC 6749 section
// 5.2 / RFC 8707 error, as JSON, with no stack trace or internal detail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ORDERS_API, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';

let baton: RunningBaton;
let token: string;
beforeAll(async () => {
  baton = await startBaton(standardConfig);
  token = `${baton.url}/token`;
});
afterAll(() => baton.stop());

const service = () => basic('service', TEST_ENV.SERVICE_SECRET);

function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/\bat .+\(.+:\d+:\d+\)|node_modules|\/src\/|Error:|stack/);
}

describe('client authentication', () => {
  it('a wrong secret is 401 invalid_client with WWW-Authenticate', async () => {
    const res = await postForm(token, 'grant_type=client_credentials', { authorization: basic('service', 'wrong-secret-wrong-secret') });
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expectNoInternals(res.text);
  });

  it('an unknown client is 401 invalid_client', async () => {
    const res = await postForm(token, 'grant_type=client_credentials', { authorization: basic('nobody', 'whatever-whatever') });
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
  });

  it('no client authentication at all is invalid_request', async () => {
    const res = await postForm(token, 'grant_type=client_credentials');
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });

  it('the error does not echo the presented secret', async () => {
    const res = await postForm(token, 'grant_type=client_credentials&client_id=service&client_secret=leaky-secret-value-123');
    expect(res.json.error).toBe('invalid_client');
    expect(res.text).not.toContain('leaky-secret-value-123');
  });
});

describe('grant and parameters', () => {
  it('an unsupported grant is unsupported_grant_type', async () => {
    const res = await postForm(token, 'grant_type=password&username=a&password=b', { authorization: service() });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('unsupported_grant_type');
  });

  it('a grant the client is not registered for is unauthorized_client', async () => {
    const res = await postForm(token, 'grant_type=refresh_token&refresh_token=abc', { authorization: service() });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('unauthorized_client');
  });

  it('an unknown resource is invalid_target', async () => {
    const res = await postForm(token, `grant_type=client_credentials&resource=${encodeURIComponent('https://unknown.example')}`, { authorization: service() });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_target');
  });

  it('a resource the client may not use is invalid_target', async () => {
    const res = await postForm(token, `grant_type=client_credentials&resource=${encodeURIComponent('https://web.example/not-a-resource')}`, { authorization: service() });
    expect(res.json.error).toBe('invalid_target');
  });

  it('a resource indicator with a fragment is invalid_target', async () => {
    const res = await postForm(token, `grant_type=client_credentials&resource=${encodeURIComponent(`${ORDERS_API}#frag`)}`, { authorization: service() });
    expect(res.json.error).toBe('invalid_target');
  });

  it('a scope of the resource the client may not have is invalid_scope, not silently dropped', async () => {
    const res = await postForm(token, `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS_API)}&scope=orders:read%20orders:write`, { authorization: service() });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid_scope', scope: 'orders:write' });
  });

  it('a scope without a resource for a client with several APIs is invalid_scope', async () => {
    const res = await postForm(token, 'grant_type=client_credentials&scope=orders:read', { authorization: service() });
    expect(res.json.error).toBe('invalid_scope');
  });

  it('repeated parameters are invalid_request', async () => {
    const res = await postForm(token, 'grant_type=client_credentials&grant_type=client_credentials', { authorization: service() });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });

  it('a missing grant_type is invalid_request', async () => {
    const res = await postForm(token, 'scope=orders:read', { authorization: service() });
    expect(res.json.error).toBe('invalid_request');
  });
});

describe('malformed requests', () => {
  it('a JSON body is invalid_request', async () => {
    const res = await postForm(token, '{"grant_type":"client_credentials"}', { authorization: service(), 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
    expectNoInternals(res.text);
  });

  it('an oversized body is invalid_request, never a crash', async () => {
    const res = await postForm(token, `grant_type=client_credentials&scope=${'a'.repeat(200_000)}`, { authorization: service() });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
    expectNoInternals(res.text);
  });

  it('a body shorter than its Content-Length is refused without hanging', async () => {
    const { request } = await import('node:http');
    const url = new URL(token);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '10', authorization: service() } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('grant');
      setTimeout(() => req.destroy(), 100);
    }).catch(() => 0);
    // Either the server answers 400 or the client gave up first: what matters is that Baton is still serving.
    expect([0, 400]).toContain(status);
    const health = await fetch(`${baton.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('malformed Basic credentials are invalid_request', async () => {
    const res = await postForm(token, 'grant_type=client_credentials', { authorization: 'Basic %%%not-base64' });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });

  it('GET on the token endpoint is not served', async () => {
    const res = await fetch(token, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/stack|node_modules/);
  });
});
