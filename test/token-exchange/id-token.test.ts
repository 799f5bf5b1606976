// RFC 8693 with subject_token_type id_token: an id_token from a real upstream (a real sign-in at a
// Google-like oidc-provider, and Entra-like multi-tenant tokens) becomes a Baton access token for
// an API; every way such a token can be wrong is invalid_request (RFC 8693 section 2.2.2), and each
// is usable once, whatever its spelling.
import { randomUUID } from 'node:crypto';

import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TEST_ENV } from '../helpers/baton.ts';
import { discover, rejection } from '../helpers/rp.ts';
import { exchange, ORDERS, refusal, signInUpstream, startEnvironment, TENANT, TYPE, verifyAccessToken, type Environment } from './environment.ts';

let env: Environment;

beforeAll(async () => {
  env = await startEnvironment();
});

afterAll(async () => {
  await env?.stop();
});

const idToken = (claims: Record<string, unknown> = {}, options: { foreignKey?: boolean } = {}): Promise<string> =>
  env.google.issueIdToken({ sub: 'g-123', email: 'gina@example.org', email_verified: true, nonce: randomUUID(), ...claims }, options);
const exchangeIdToken = (token: string, extra: Record<string, string> = {}, clientId = 'gateway') =>
  exchange(env.baton, clientId, { subject_token: token, subject_token_type: TYPE.id_token, resource: ORDERS, ...extra });

describe('token exchange: upstream id_token', () => {
  it('an id_token from a real upstream sign-in becomes a Baton JWT access token for the resource', async () => {
    const token = await signInUpstream(env.google, 'ana@example.org', 'ana-pw');
    const sub = String(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub);
    const result = await exchangeIdToken(token, { scope: 'orders:read' });
    expect(result).toMatchObject({ issued_token_type: TYPE.access_token, token_type: 'bearer', scope: 'orders:read' });
    expect(result.expires_in).toBeGreaterThan(0);
    expect(result.refresh_token).toBeUndefined();
    const { payload } = await verifyAccessToken(env.baton, result.access_token, ORDERS);
    expect(payload).toMatchObject({ iss: env.baton.url, aud: ORDERS, sub: `google:${sub}`, scope: 'orders:read', client_id: 'gateway' });
    expect(payload.act).toBeUndefined();

    // oidc-provider's id_tokens carry no jti: the same token is recognised by its hash.
    expect(await rejection(exchangeIdToken(token, { scope: 'orders:read' }))).toMatchObject({ error: 'invalid_request' });
  });

  it('is single-use by jti: the same jti in another token is refused too', async () => {
    const jti = randomUUID();
    await exchangeIdToken(await idToken({ jti }));
    expect(await rejection(exchangeIdToken(await idToken({ jti, email: 'other@example.org' })))).toMatchObject({ error: 'invalid_request' });
  });

  it('concurrent exchanges of one id_token: exactly one succeeds', async () => {
    const token = await idToken();
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => exchangeIdToken(token)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('without scope: every scope the client may have at the resource, narrowed by the authorizer', async () => {
    const result = await exchangeIdToken(await idToken());
    expect(result.scope).toBe('orders:read');
    expect(env.authorizer.seen.at(-1)).toMatchObject({ subject: 'google:g-123', grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', scopes: ['orders:read', 'orders:write'] });
  });

  it('the authorizer decides: orders:write only for the subject it lets write', async () => {
    expect((await exchangeIdToken(await idToken(), { scope: 'orders:read orders:write' })).scope).toBe('orders:read');
    env.authorizer.writers.add('google:g-123');
    try {
      const result = await exchangeIdToken(await idToken(), { scope: 'orders:read orders:write' });
      expect(result.scope).toBe('orders:read orders:write');
      expect((await verifyAccessToken(env.baton, result.access_token, ORDERS)).payload.scope).toBe('orders:read orders:write');
    } finally {
      env.authorizer.writers.clear();
    }
  });

  it('an id_token for another audience is refused; an allow-listed audience (policy.upstreamAudiences) is accepted', async () => {
    expect(await rejection(exchangeIdToken(await idToken({ aud: 'someone-else' })))).toMatchObject({ error: 'invalid_request' });
    const result = await exchangeIdToken(await idToken({ aud: 'mobile-app' }));
    expect(result.access_token).toBeTruthy();
  });

  it('expired, too old (policy.maxAge 5m) or without iat: refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await rejection(exchangeIdToken(await idToken({ iat: now - 7200, exp: now - 3600 })))).toMatchObject({ error: 'invalid_request' });
    expect(await rejection(exchangeIdToken(await idToken({ iat: now - 600, exp: now + 3000 })))).toMatchObject({ error: 'invalid_request' });
    expect(await rejection(exchangeIdToken(await idToken({ iat: undefined })))).toMatchObject({ error: 'invalid_request' });
  });

  it('a JWT typed as an access token (typ at+jwt), an azp naming another client, or an iat in the future: refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const typ of ['at+jwt', 'application/at+jwt', 'logout+jwt']) {
      expect(await rejection(exchangeIdToken(await env.google.issueIdToken({ sub: 'g-123', nonce: randomUUID() }, { header: { typ } }))), typ).toMatchObject({ error: 'invalid_request' });
    }
    expect(await rejection(exchangeIdToken(await idToken({ azp: 'someone-else' })))).toMatchObject({ error: 'invalid_request' });
    expect(await rejection(exchangeIdToken(await idToken({ aud: ['baton-at-google', 'someone-else'] })))).toMatchObject({ error: 'invalid_request' });
    expect(await rejection(exchangeIdToken(await idToken({ iat: now + 600, exp: now + 3600 })))).toMatchObject({ error: 'invalid_request' });
    // The control: typ JWT, azp naming the audience, an iat a few seconds ahead (clock skew) pass.
    const fine = await exchangeIdToken(await env.google.issueIdToken({ sub: 'g-123', nonce: randomUUID(), azp: 'baton-at-google', iat: now + 5 }, { header: { typ: 'JWT' } }));
    expect(fine.access_token).toBeTruthy();
  });

  it('a signature by a key the upstream does not publish is refused, also under a published kid', async () => {
    expect(await rejection(exchangeIdToken(await idToken({}, { foreignKey: true })))).toMatchObject({ error: 'invalid_request' });
    const token = await env.google.issueIdToken({ sub: 'g-123', nonce: randomUUID() }, { foreignKey: true, header: { kid: env.google.currentKid } });
    expect(await rejection(exchangeIdToken(token))).toMatchObject({ error: 'invalid_request' });
  });

  it('an upstream outside the client\'s policy, or an issuer Baton does not know, is refused', async () => {
    const stranger = await env.stranger.issueIdToken({ aud: 'baton-at-stranger', nonce: randomUUID() });
    expect(await rejection(exchangeIdToken(stranger))).toMatchObject({ error: 'invalid_request' });
    expect(await rejection(exchangeIdToken(await idToken({ iss: 'https://accounts.evil.example' })))).toMatchObject({ error: 'invalid_request' });
    expect(await rejection(exchangeIdToken('not-a-jwt'))).toMatchObject({ error: 'invalid_request' });
  });

  it('Entra multi-tenant: the {tenantid} issuer resolved from tid; a tenant not allowed is refused', async () => {
    const oid = randomUUID();
    const token = await env.entra.issueIdToken({ aud: 'baton-at-entra', oid, email: 'erin@contoso.com', nonce: randomUUID() });
    const result = await exchangeIdToken(token, { scope: 'orders:read' });
    expect((await verifyAccessToken(env.baton, result.access_token, ORDERS)).payload.sub).toBe(`contoso:${TENANT}:${oid}`);

    const other = '00000000-0000-4000-8000-000000000000';
    const foreign = await env.entra.issueIdToken({ aud: 'baton-at-entra', oid, iss: `${env.entra.url}/${other}/v2.0`, tid: other, nonce: randomUUID() });
    expect(await rejection(exchangeIdToken(foreign))).toMatchObject({ error: 'invalid_request' });
    // tid contradicting the issuer
    const mixed = await env.entra.issueIdToken({ aud: 'baton-at-entra', oid, tid: other, nonce: randomUUID() });
    expect(await rejection(exchangeIdToken(mixed))).toMatchObject({ error: 'invalid_request' });
  });

  it('the client\'s rules decide on the exchanged user\'s claims, as at sign-in', async () => {
    const blocked = await idToken({ sub: 'g-blocked', email: 'eve@blocked.example' });
    expect(await rejection(exchangeIdToken(blocked, {}, 'ruled'))).toMatchObject({ error: 'invalid_request' });
    expect((await exchangeIdToken(await idToken(), { scope: 'orders:read' }, 'ruled')).scope).toBe('orders:read');
  });

  it('policy.refreshToken: a rotating refresh token that renews the exchanged access', async () => {
    const result = await exchangeIdToken(await idToken(), { scope: 'orders:read' }, 'long-lived');
    expect(result.refresh_token).toBeTruthy();
    const rp = await discover(env.baton.url, 'long-lived', TEST_ENV.SERVICE_SECRET);
    const refreshed = await client.refreshTokenGrant(rp, result.refresh_token!);
    const { payload } = await verifyAccessToken(env.baton, refreshed.access_token, ORDERS);
    expect(payload).toMatchObject({ sub: 'google:g-123', scope: 'orders:read', client_id: 'long-lived' });
  });
});

/** Other spellings of one compact JWS that jose (atob) decodes to the same signature bytes. */
function respellings(token: string): Record<string, string> {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(signature.at(-1)!);
  // The last character of a signature whose length is not a multiple of 3 bytes carries unused low bits.
  const trailing = `${signature.slice(0, -1)}${alphabet[last ^ 1]}`;
  const padding = '='.repeat((4 - (signature.length % 4)) % 4);
  return {
    'non-zero trailing bits': `${header}.${payload}.${trailing}`,
    padding: `${header}.${payload}.${signature}${padding}`,
    'a space inside a segment': `${header}.${payload}.${signature.slice(0, 10)} ${signature.slice(10)}`,
    'a line break inside a segment': `${header}.${payload.slice(0, 12)}\n${payload.slice(12)}.${signature}`,
  };
}

/** ECDSA's twin signature: (r, s) and (r, n - s) both verify, so anyone can re-spell an ES256 token. */
function ecdsaTwin(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const bytes = Buffer.from(signature, 'base64url');
  const n = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const twin = Buffer.concat([bytes.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
  return `${header}.${payload}.${twin.toString('base64url')}`;
}

describe('token exchange: a single-use subject token is spent whatever its spelling', () => {
  it('an id_token without jti, replayed in another spelling after its exchange: refused', async () => {
    const token = await idToken({ sub: 'g-respelled' });
    const variants = respellings(token);
    expect(Buffer.from(variants['non-zero trailing bits']!.split('.')[2]!, 'base64url').equals(Buffer.from(token.split('.')[2]!, 'base64url'))).toBe(true);
    await exchangeIdToken(token, { scope: 'orders:read' });
    for (const [name, variant] of Object.entries(variants)) {
      expect(await refusal(exchangeIdToken(variant, { scope: 'orders:read' })), name).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('another spelling is refused before anything is spent: the canonical token still works afterwards', async () => {
    const token = await idToken({ sub: 'g-respelled-first' });
    for (const [name, variant] of Object.entries(respellings(token))) {
      expect(await refusal(exchangeIdToken(variant)), name).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('canonical') });
    }
    expect((await exchangeIdToken(token, { scope: 'orders:read' })).scope).toBe('orders:read');
  });

  it('a trusted issuer\'s ES256 JWT without jti, replayed with its ECDSA twin signature: refused', async () => {
    const token = await env.partner.sign({ sub: 'p-twin', jti: undefined });
    const twin = ecdsaTwin(token);
    expect(twin).not.toBe(token);
    const params = { subject_token_type: TYPE.jwt, resource: ORDERS, scope: 'orders:read' };
    await exchange(env.baton, 'gateway', { ...params, subject_token: token });
    expect(await refusal(exchange(env.baton, 'gateway', { ...params, subject_token: twin }))).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('already exchanged') });
  });

  it("the client's upstream allow-list holds for exchange too: a subject from another upstream is refused", async () => {
    const google = await exchangeIdToken(await idToken({ sub: 'g-allowed' }), {}, 'google-users');
    expect((await verifyAccessToken(env.baton, google.access_token, ORDERS)).payload.sub).toBe('google:g-allowed');
    const entra = await env.entra.issueIdToken({ aud: 'baton-at-entra', oid: randomUUID(), email: 'erin@contoso.com', nonce: randomUUID() });
    expect(await refusal(exchangeIdToken(entra, {}, 'google-users'))).toMatchObject({ error: 'invalid_request', error_description: 'this application does not accept accounts of this identity provider' });
  });
});
