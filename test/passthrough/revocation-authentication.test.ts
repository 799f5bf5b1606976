// RFC 7009 section 2.1 at a passthrough issuer whose upstream has no revocation endpoint: Baton
// cannot forward the revocation, so it has the upstream authenticate the client with a token
// request that spends nothing (a refresh token no one issued) before it deletes the handle. A
// refused authentication is the upstream's 401 invalid_client and the handle stays usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBaton, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

const SECRET = 'app-secret-at-the-upstream-0123';

let upstream: FakeUpstream;
let baton: RunningBaton;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.metadata = { revocation_endpoint: undefined };
  baton = await startBaton({
    upstreams: [{ id: 'idp', issuer: upstream.issuer, clientId: 'baton', clientSecret: 'unused-here-0123456789' }],
    passthrough: [{ id: 'app', upstream: 'idp', clients: ['app'], refreshTokens: 'handle' }],
  });
});
afterAll(async () => {
  await baton?.stop();
  await upstream?.stop();
});

const tokenUrl = () => `${baton.url}/passthrough/app/token`;
const INVALID_CLIENT = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };

async function handle(): Promise<string> {
  upstream.tokenResponse = { status: 200, body: { access_token: 'upstream-at', token_type: 'Bearer', expires_in: 3600, refresh_token: 'upstream-rt', id_token: await upstream.sign(upstream.claims('app')) } };
  const res = await postForm(tokenUrl(), new URLSearchParams({ grant_type: 'authorization_code', code: 'the-code', redirect_uri: 'https://app.example/cb', code_verifier: 'v'.repeat(43) }), { authorization: basic('app', SECRET) });
  expect(res.status).toBe(200);
  return String(res.json.refresh_token);
}

async function refresh(token: string) {
  upstream.tokenResponse = { status: 200, body: { access_token: 'upstream-at-2', token_type: 'Bearer', expires_in: 3600 } };
  return postForm(tokenUrl(), new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }), { authorization: basic('app', SECRET) });
}

const revoke = (token: string, secret = SECRET) => postForm(`${baton.url}/passthrough/app/revoke`, new URLSearchParams({ token }), { authorization: basic('app', secret) });

describe('revocation without an upstream revocation endpoint', () => {
  it('the upstream refuses the client (wrong secret): 401 invalid_client, nothing ends', async () => {
    const token = await handle();
    upstream.tokenResponse = INVALID_CLIENT;
    const before = upstream.received.length;
    const res = await revoke(token, 'a-wrong-secret-0123456789');
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
    // The probe: the client's own credentials, a refresh token nobody issued (never the wrapped one).
    const probe = upstream.received.at(-1)!;
    expect(upstream.received.length).toBe(before + 1);
    expect(probe.authorization).toBe(basic('app', 'a-wrong-secret-0123456789'));
    expect(probe.form.get('grant_type')).toBe('refresh_token');
    expect(probe.form.get('refresh_token')).not.toBe('upstream-rt');
    expect((await refresh(token)).status).toBe(200);
  });

  it('the upstream authenticates the client (invalid_grant for the probe): the handle is deleted', async () => {
    const token = await handle();
    upstream.tokenResponse = { status: 400, body: { error: 'invalid_grant' } };
    expect((await revoke(token)).status).toBe(200);
    const before = upstream.received.length;
    const res = await refresh(token);
    expect(res.json.error).toBe('invalid_grant');
    expect(upstream.received.length).toBe(before);
  });

  it('a refresh the upstream refuses for the client (invalid_client) spends nothing; one it refuses for the grant (invalid_grant) does', async () => {
    const token = await handle();
    upstream.tokenResponse = INVALID_CLIENT;
    const refused = await postForm(tokenUrl(), new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }), { authorization: basic('app', 'a-wrong-secret-0123456789') });
    expect(refused.status).toBe(401);
    expect(refused.json.error).toBe('invalid_client');
    const next = await refresh(token);
    expect(next.status).toBe(200);

    upstream.tokenResponse = { status: 400, body: { error: 'invalid_grant' } };
    const nextToken = String(next.json.refresh_token);
    expect((await postForm(tokenUrl(), new URLSearchParams({ grant_type: 'refresh_token', refresh_token: nextToken }), { authorization: basic('app', SECRET) })).json.error).toBe('invalid_grant');
    const before = upstream.received.length;
    expect((await refresh(nextToken)).json.error).toBe('invalid_grant');
    expect(upstream.received.length).toBe(before);
  });
});
