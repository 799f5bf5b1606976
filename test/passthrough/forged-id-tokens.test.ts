// The upstream id_token is verified before anything is minted: a token forged with `alg: none`,
// signed by a key the upstream does not publish, HMAC-signed with its public key, for another
// issuer, audience or client, or expired, is refused with invalid_grant; a valid one (the control)
// passes. The upstream is a small real server that answers with whatever id_token the test made.
import { createHash } from 'node:crypto';

import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBaton, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

const SECRET = 'app-secret-at-the-upstream-0123';

let upstream: FakeUpstream;
let baton: RunningBaton;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  baton = await startBaton({
    upstreams: [{ id: 'idp', issuer: upstream.issuer, clientId: 'baton', clientSecret: 'unused-here-0123456789' }],
    passthrough: [{ id: 'app', upstream: 'idp', clients: ['app'] }],
  });
});
afterAll(async () => {
  await baton?.stop();
  await upstream?.stop();
});

const unsigned = (claims: Record<string, unknown>) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function exchange(idToken: string | undefined, extra: Record<string, unknown> = {}) {
  upstream.tokenResponse = { status: 200, body: { access_token: 'upstream-at', token_type: 'Bearer', expires_in: 3600, refresh_token: 'upstream-rt', ...(idToken ? { id_token: idToken } : {}), ...extra } };
  return postForm(`${baton.url}/passthrough/app/token`, new URLSearchParams({ grant_type: 'authorization_code', code: 'the-code', redirect_uri: 'https://app.example/cb', code_verifier: 'v'.repeat(43) }), { authorization: basic('app', SECRET) });
}

describe('upstream id_token verification', () => {
  it('control: a valid id_token passes, its nonce is carried, and the request reached the upstream exactly as sent', async () => {
    const response = await exchange(await upstream.sign(upstream.claims('app')));
    expect(response.status).toBe(200);
    const idToken = decodeJwt(String(response.json.id_token));
    expect(idToken).toMatchObject({ iss: `${baton.url}/passthrough/app`, aud: 'app', sub: 'idp:user-1', nonce: 'n-0S6_WzA2Mj', email: 'user@example.org' });
    const sent = upstream.received.at(-1)!;
    expect(sent.authorization).toBe(basic('app', SECRET));
    expect(Object.fromEntries(sent.form)).toEqual({ grant_type: 'authorization_code', code: 'the-code', redirect_uri: 'https://app.example/cb', code_verifier: 'v'.repeat(43) });
    // The upstream's tokens never reach the client.
    expect(response.text).not.toContain('upstream-at');
    expect(response.text).not.toContain('upstream-rt');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it.each([
    ['alg none', () => Promise.resolve(unsigned(upstream.claims('app')))],
    ['a key the upstream does not publish (same kid)', () => upstream.sign(upstream.claims('app'), { key: 'foreign' })],
    ['an unknown kid', () => upstream.sign(upstream.claims('app'), { header: { kid: 'nobody' } })],
    ['another issuer', () => upstream.sign(upstream.claims('app', { iss: 'https://evil.example' }))],
    ['another audience', () => upstream.sign(upstream.claims('app', { aud: 'someone-else' }))],
    ['several audiences with another azp', () => upstream.sign(upstream.claims('app', { aud: ['app', 'someone-else'], azp: 'someone-else' }))],
    ['an expired token', () => upstream.sign(upstream.claims('app', { iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }))],
    ['no subject', () => upstream.sign(upstream.claims('app', { sub: undefined }))],
    ['typ at+jwt (an access token, RFC 8725 section 3.11)', () => upstream.sign(upstream.claims('app'), { header: { typ: 'at+jwt' } })],
    ['typ application/at+jwt', () => upstream.sign(upstream.claims('app'), { header: { typ: 'application/at+jwt' } })],
    ['one audience but an azp naming another client', () => upstream.sign(upstream.claims('app', { azp: 'someone-else' }))],
    ['an iat in the future', () => upstream.sign(upstream.claims('app', { iat: Math.floor(Date.now() / 1000) + 600, exp: Math.floor(Date.now() / 1000) + 3600 }))],
  ])('refuses an id_token with %s: invalid_grant', async (_name, forge) => {
    const response = await exchange(await forge());
    expect(response.status).toBe(400);
    expect(response.json.error).toBe('invalid_grant');
    expect(String(response.json.error_description)).toMatch(/^the upstream id_token was refused/);
    expect(response.json).not.toHaveProperty('id_token');
  });

  it('refuses an HS256 token keyed with the upstream\'s public key (algorithm confusion)', async () => {
    const { createHmac } = await import('node:crypto');
    const jwks = (await (await fetch(`${upstream.issuer}/jwks`)).json()) as { keys: Array<{ n: string }> };
    const input = `${b64({ alg: 'HS256', kid: upstream.kid })}.${b64(upstream.claims('app'))}`;
    const forged = `${input}.${createHmac('sha256', jwks.keys[0]!.n).update(input).digest('base64url')}`;
    expect((await exchange(forged)).json.error).toBe('invalid_grant');
  });

  it('no id_token (no openid scope) is invalid_grant; a non-OAuth answer is a 502 server_error', async () => {
    expect((await exchange(undefined)).json).toMatchObject({ error: 'invalid_grant' });
    upstream.tokenResponse = { status: 200, body: '<html>login</html>' };
    const garbage = await postForm(`${baton.url}/passthrough/app/token`, 'grant_type=authorization_code&code=c', { authorization: basic('app', SECRET) });
    expect(garbage).toMatchObject({ status: 502, json: { error: 'server_error' } });
  });

  it('relays the upstream\'s OAuth errors with their status, description sanitized', async () => {
    upstream.tokenResponse = { status: 400, body: { error: 'invalid_grant', error_description: 'AADSTS70008: "code" expired\n' } };
    const expired = await postForm(`${baton.url}/passthrough/app/token`, 'grant_type=authorization_code&code=c', { authorization: basic('app', SECRET) });
    expect(expired).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: 'AADSTS70008:  code  expired ' } });
    upstream.tokenResponse = { status: 401, body: { error: 'invalid_client' } };
    const client = await postForm(`${baton.url}/passthrough/app/token`, 'grant_type=authorization_code&code=c&client_id=app&client_secret=wrong');
    expect(client.status).toBe(401);
    expect(client.json.error).toBe('invalid_client');
    expect(client.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    // client_secret_post was forwarded as such, not turned into Basic.
    expect(Object.fromEntries(upstream.received.at(-1)!.form)).toMatchObject({ client_id: 'app', client_secret: 'wrong' });
    expect(upstream.received.at(-1)!.authorization).toBeUndefined();
  });

  it('computes at_hash over Baton\'s access token instead of copying the upstream\'s', async () => {
    const response = await exchange(await upstream.sign(upstream.claims('app', { at_hash: 'upstream-hash' })));
    const digest = createHash('sha256').update(String(response.json.access_token)).digest();
    expect(decodeJwt(String(response.json.id_token)).at_hash).toBe(digest.subarray(0, 16).toString('base64url'));
  });
});
