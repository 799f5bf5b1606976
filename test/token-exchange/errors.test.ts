// RFC 8693 section 2.2.2 errors with their exact codes: malformed requests and subject or actor
// tokens that are invalid or unacceptable by policy (invalid_request), targets (invalid_target),
// scopes (invalid_scope), clients (unauthorized_client); the caller can neither set `iss` nor widen
// scopes; and a refused request does not spend a single-use subject token.
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TEST_ENV } from '../helpers/baton.ts';
import { basic, postForm, rejection } from '../helpers/rp.ts';
import { BILLING, exchange, ORDERS, refusal, startEnvironment, TE, TYPE, verifyAccessToken, type Environment } from './environment.ts';

let env: Environment;

beforeAll(async () => {
  env = await startEnvironment();
});

afterAll(async () => {
  await env?.stop();
});

const idToken = () => env.google.issueIdToken({ sub: 'g-errors', nonce: randomUUID() });
const raw = (body: string, clientId = 'gateway') => postForm(`${env.baton.url}/token`, body, { authorization: basic(clientId, TEST_ENV.SERVICE_SECRET) });
const form = (params: Record<string, string | string[]>) => {
  const body = new URLSearchParams({ grant_type: TE });
  for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) body.append(key, v);
  return body.toString();
};

describe('token exchange: invalid_request', () => {
  it('a repeated subject_token (or any repeated parameter but resource and audience)', async () => {
    const token = await idToken();
    for (const name of ['subject_token', 'subject_token_type', 'scope', 'actor_token']) {
      const params: Record<string, string | string[]> = { subject_token: token, subject_token_type: TYPE.id_token, resource: ORDERS, [name]: ['a', 'b'] };
      const res = await raw(form(params));
      expect(res.status, name).toBe(400);
      expect(res.json.error, name).toBe('invalid_request');
    }
  });

  it('missing or unsupported token types, actor_token without its type, an unsupported requested_token_type', async () => {
    const token = await idToken();
    const cases: Array<Record<string, string>> = [
      { subject_token_type: TYPE.id_token },
      { subject_token: token },
      { subject_token: token, subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' },
      { subject_token: token, subject_token_type: TYPE.id_token, actor_token: token },
      { subject_token: token, subject_token_type: TYPE.id_token, actor_token_type: TYPE.jwt },
      { subject_token: token, subject_token_type: TYPE.id_token, actor_token: token, actor_token_type: TYPE.id_token },
      { subject_token: token, subject_token_type: TYPE.id_token, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
    ];
    for (const params of cases) {
      expect(await rejection(exchange(env.baton, 'gateway', { resource: ORDERS, ...params })), JSON.stringify(Object.keys(params))).toMatchObject({ error: 'invalid_request' });
    }
  });
});

describe('token exchange: targets and scopes', () => {
  it('unknown resource, resource not allowed for the client, unknown audience: invalid_target', async () => {
    const token = await idToken();
    const base = { subject_token: token, subject_token_type: TYPE.id_token };
    expect(await rejection(exchange(env.baton, 'gateway', { ...base, resource: 'https://unknown.api.example' }))).toMatchObject({ error: 'invalid_target' });
    expect(await rejection(exchange(env.baton, 'id-only', { ...base, resource: BILLING }))).toMatchObject({ error: 'invalid_target' });
    expect(await rejection(exchange(env.baton, 'gateway', { ...base, audience: 'nobody' }))).toMatchObject({ error: 'invalid_target' });
    expect(await rejection(exchange(env.baton, 'gateway', { ...base, resource: 'not a uri' }))).toMatchObject({ error: 'invalid_target' });
    // None of those spent the id_token.
    expect((await exchange(env.baton, 'gateway', { ...base, resource: ORDERS, scope: 'orders:read' })).scope).toBe('orders:read');
  });

  it('two resources: one access token is for one resource, so two distinct ones are invalid_target; the same one twice is fine', async () => {
    const base = { subject_token_type: TYPE.id_token };
    expect(await rejection(exchange(env.baton, 'gateway', { ...base, subject_token: await idToken(), resource: [ORDERS, BILLING] }))).toMatchObject({ error: 'invalid_target' });
    expect(await rejection(exchange(env.baton, 'gateway', { ...base, subject_token: await idToken(), resource: ORDERS, audience: 'audit' }))).toMatchObject({ error: 'invalid_target' });
    const same = await exchange(env.baton, 'gateway', { ...base, subject_token: await idToken(), resource: [ORDERS, ORDERS], audience: ORDERS, scope: 'orders:read' });
    expect((await verifyAccessToken(env.baton, same.access_token, ORDERS)).payload.aud).toBe(ORDERS);
  });

  it('a scope beyond the client\'s bound is invalid_scope, never dropped', async () => {
    const base = { subject_token_type: TYPE.id_token };
    expect(await rejection(exchange(env.baton, 'gateway', { ...base, subject_token: await idToken(), resource: BILLING, scope: 'billing:read billing:admin' }))).toMatchObject({ error: 'invalid_scope' });
    expect(await rejection(exchange(env.baton, 'gateway', { ...base, subject_token: await idToken(), resource: ORDERS, scope: 'orders:delete' }))).toMatchObject({ error: 'invalid_scope' });
    expect(await rejection(exchange(env.baton, 'gateway', { ...base, subject_token: await idToken(), resource: ORDERS, scope: 'openid' }))).toMatchObject({ error: 'invalid_scope' });
  });

  it('an `iss` parameter is ignored: the token is Baton\'s', async () => {
    const result = await exchange(env.baton, 'gateway', { subject_token: await idToken(), subject_token_type: TYPE.id_token, resource: ORDERS, scope: 'orders:read', iss: 'https://evil.example' });
    expect((await verifyAccessToken(env.baton, result.access_token, ORDERS)).payload.iss).toBe(env.baton.url);
  });
});

describe('token exchange: downscoping (the result is bounded by the subject token\'s scopes)', () => {
  /** A user's Baton access token for ORDERS carrying only orders:read. */
  const readerToken = async (sub: string) =>
    (await exchange(env.baton, 'gateway', { subject_token: await env.google.issueIdToken({ sub, nonce: randomUUID() }), subject_token_type: TYPE.id_token, resource: ORDERS, scope: 'orders:read' })).access_token;
  const relay = (token: string, target: Record<string, string>) => exchange(env.baton, 'relay', { subject_token: token, subject_token_type: TYPE.access_token, ...target });

  it('a scope the subject token does not carry is invalid_scope, even when the client and the authorizer would allow it', async () => {
    const token = await readerToken('g-downscoped');
    env.authorizer.writers.add('google:g-downscoped');
    try {
      expect(await refusal(relay(token, { resource: ORDERS, scope: 'orders:read orders:write' }))).toMatchObject({ error: 'invalid_scope' });
      // Without `scope`: the client's scopes the subject token has, not every scope the client may have.
      const result = await relay(token, { resource: ORDERS });
      expect(result.scope).toBe('orders:read');
      expect((await verifyAccessToken(env.baton, result.access_token, ORDERS)).payload.scope).toBe('orders:read');
    } finally {
      env.authorizer.writers.clear();
    }
  });

  it('another API whose scopes the subject token does not carry: invalid_scope', async () => {
    const token = await readerToken('g-downscoped-api');
    expect(await refusal(relay(token, { audience: 'audit' }))).toMatchObject({ error: 'invalid_scope' });
    expect(await refusal(relay(token, { audience: 'audit', scope: 'audit:read' }))).toMatchObject({ error: 'invalid_scope' });
  });

  it('a client with beyondSubjectScopes may obtain scopes of another API, up to its own resources', async () => {
    const token = await readerToken('g-beyond');
    const result = await exchange(env.baton, 'gateway', { subject_token: token, subject_token_type: TYPE.access_token, resource: BILLING });
    expect(result.scope).toBe('billing:read');
  });
});

describe('token exchange: what a refusal costs', () => {
  it('a bad actor_token does not spend the subject id_token', async () => {
    const params = { subject_token: await idToken(), subject_token_type: TYPE.id_token, resource: ORDERS, scope: 'orders:read' };
    expect(await rejection(exchange(env.baton, 'gateway', { ...params, actor_token: 'not-a-token', actor_token_type: TYPE.access_token }))).toMatchObject({ error: 'invalid_request' });
    expect((await exchange(env.baton, 'gateway', params)).scope).toBe('orders:read');
  });

  it('an upstream whose keys cannot be fetched: 503 temporarily_unavailable, not invalid_request', async () => {
    const token = await env.entra.issueIdToken({ aud: 'baton-at-entra', oid: randomUUID(), nonce: randomUUID() });
    env.entra.fail('error', ['jwks']);
    try {
      const res = await raw(form({ subject_token: token, subject_token_type: TYPE.id_token, resource: ORDERS }));
      expect(res.status).toBe(503);
      expect(res.json.error).toBe('temporarily_unavailable');
    } finally {
      env.entra.fail('none');
    }
    // Nothing was spent: once the keys are back, the same token is accepted.
    expect((await exchange(env.baton, 'gateway', { subject_token: token, subject_token_type: TYPE.id_token, resource: ORDERS, scope: 'orders:read' })).scope).toBe('orders:read');
  });
});

describe('token exchange: unauthorized_client', () => {
  it('a client without the grant or without a policy', async () => {
    const params = { subject_token: await idToken(), subject_token_type: TYPE.id_token, resource: ORDERS };
    expect(await rejection(exchange(env.baton, 'no-grant', params))).toMatchObject({ error: 'unauthorized_client' });
    expect(await rejection(exchange(env.baton, 'no-policy', params))).toMatchObject({ error: 'unauthorized_client' });
  });

  it('a subject token type the client\'s policy lacks is unacceptable by policy: invalid_request (RFC 8693 section 2.2.2)', async () => {
    const params = { subject_token: await idToken(), subject_token_type: TYPE.id_token, resource: ORDERS };
    expect(await refusal(exchange(env.baton, 'id-only', { ...params, subject_token_type: TYPE.access_token }))).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('may not exchange') });
    expect(await refusal(exchange(env.baton, 'id-only', { ...params, subject_token_type: TYPE.jwt }))).toMatchObject({ error: 'invalid_request' });
  });

  it('discovery advertises the grant', async () => {
    const metadata = (await (await fetch(`${env.baton.url}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] };
    expect(metadata.grant_types_supported).toContain(TE);
  });
});
