// RFC 8693 with subject_token_type id_token: an id_token from a real upstream (a real sign-in at a
// Google-like oidc-provider, and Entra-like multi-tenant tokens) becomes a Baton access token for
// an API; every way such a token can be wrong is invalid_grant, and each is usable once.
import { randomUUID } from 'node:crypto';

import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TEST_ENV } from '../helpers/baton.ts';
import { discover, rejection } from '../helpers/rp.ts';
import { exchange, ORDERS, signInUpstream, startEnvironment, TENANT, TYPE, verifyAccessToken, type Environment } from './environment.ts';

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
    expect(await rejection(exchangeIdToken(token, { scope: 'orders:read' }))).toMatchObject({ error: 'invalid_grant' });
  });

  it('is single-use by jti: the same jti in another token is refused too', async () => {
    const jti = randomUUID();
    await exchangeIdToken(await idToken({ jti }));
    expect(await rejection(exchangeIdToken(await idToken({ jti, email: 'other@example.org' })))).toMatchObject({ error: 'invalid_grant' });
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
    expect(await rejection(exchangeIdToken(await idToken({ aud: 'someone-else' })))).toMatchObject({ error: 'invalid_grant' });
    const result = await exchangeIdToken(await idToken({ aud: 'mobile-app' }));
    expect(result.access_token).toBeTruthy();
  });

  it('expired, too old (policy.maxAge 5m) or without iat: refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await rejection(exchangeIdToken(await idToken({ iat: now - 7200, exp: now - 3600 })))).toMatchObject({ error: 'invalid_grant' });
    expect(await rejection(exchangeIdToken(await idToken({ iat: now - 600, exp: now + 3000 })))).toMatchObject({ error: 'invalid_grant' });
    expect(await rejection(exchangeIdToken(await idToken({ iat: undefined })))).toMatchObject({ error: 'invalid_grant' });
  });

  it('a JWT typed as an access token (typ at+jwt), an azp naming another client, or an iat in the future: refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const typ of ['at+jwt', 'application/at+jwt', 'logout+jwt']) {
      expect(await rejection(exchangeIdToken(await env.google.issueIdToken({ sub: 'g-123', nonce: randomUUID() }, { header: { typ } }))), typ).toMatchObject({ error: 'invalid_grant' });
    }
    expect(await rejection(exchangeIdToken(await idToken({ azp: 'someone-else' })))).toMatchObject({ error: 'invalid_grant' });
    expect(await rejection(exchangeIdToken(await idToken({ aud: ['baton-at-google', 'someone-else'] })))).toMatchObject({ error: 'invalid_grant' });
    expect(await rejection(exchangeIdToken(await idToken({ iat: now + 600, exp: now + 3600 })))).toMatchObject({ error: 'invalid_grant' });
    // The control: typ JWT, azp naming the audience, an iat a few seconds ahead (clock skew) pass.
    const fine = await exchangeIdToken(await env.google.issueIdToken({ sub: 'g-123', nonce: randomUUID(), azp: 'baton-at-google', iat: now + 5 }, { header: { typ: 'JWT' } }));
    expect(fine.access_token).toBeTruthy();
  });

  it('a signature by a key the upstream does not publish is refused, also under a published kid', async () => {
    expect(await rejection(exchangeIdToken(await idToken({}, { foreignKey: true })))).toMatchObject({ error: 'invalid_grant' });
    const token = await env.google.issueIdToken({ sub: 'g-123', nonce: randomUUID() }, { foreignKey: true, header: { kid: env.google.currentKid } });
    expect(await rejection(exchangeIdToken(token))).toMatchObject({ error: 'invalid_grant' });
  });

  it('an upstream outside the client\'s policy, or an issuer Baton does not know, is refused', async () => {
    const stranger = await env.stranger.issueIdToken({ aud: 'baton-at-stranger', nonce: randomUUID() });
    expect(await rejection(exchangeIdToken(stranger))).toMatchObject({ error: 'invalid_grant' });
    expect(await rejection(exchangeIdToken(await idToken({ iss: 'https://accounts.evil.example' })))).toMatchObject({ error: 'invalid_grant' });
    expect(await rejection(exchangeIdToken('not-a-jwt'))).toMatchObject({ error: 'invalid_grant' });
  });

  it('Entra multi-tenant: the {tenantid} issuer resolved from tid; a tenant not allowed is refused', async () => {
    const oid = randomUUID();
    const token = await env.entra.issueIdToken({ aud: 'baton-at-entra', oid, email: 'erin@contoso.com', nonce: randomUUID() });
    const result = await exchangeIdToken(token, { scope: 'orders:read' });
    expect((await verifyAccessToken(env.baton, result.access_token, ORDERS)).payload.sub).toBe(`contoso:${TENANT}:${oid}`);

    const other = '00000000-0000-4000-8000-000000000000';
    const foreign = await env.entra.issueIdToken({ aud: 'baton-at-entra', oid, iss: `${env.entra.url}/${other}/v2.0`, tid: other, nonce: randomUUID() });
    expect(await rejection(exchangeIdToken(foreign))).toMatchObject({ error: 'invalid_grant' });
    // tid contradicting the issuer
    const mixed = await env.entra.issueIdToken({ aud: 'baton-at-entra', oid, tid: other, nonce: randomUUID() });
    expect(await rejection(exchangeIdToken(mixed))).toMatchObject({ error: 'invalid_grant' });
  });

  it('the client\'s rules decide on the exchanged user\'s claims, as at sign-in', async () => {
    const blocked = await idToken({ sub: 'g-blocked', email: 'eve@blocked.example' });
    expect(await rejection(exchangeIdToken(blocked, {}, 'ruled'))).toMatchObject({ error: 'invalid_grant' });
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
