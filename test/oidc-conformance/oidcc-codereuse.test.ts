// Mirrors `oidcc-codereuse`, `oidcc-refresh-token` and `oidcc-ensure-request-with-valid-pkce-succeeds`:
// a code redeemed twice is invalid_grant and the tokens of the first redemption stop working
// (RFC 6749 section 4.1.2); the refresh token of the suite's client refreshes; a client may still send
// PKCE when it is not required.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { basic, postForm } from '../helpers/rp.ts';
import { authorize, redeem, startCertification, SUITE_REDIRECT, SUITE_SECRET, suiteRp, type Certification } from './certification.ts';

let cert: Certification;
beforeAll(async () => {
  cert = await startCertification();
});
afterAll(() => cert?.stop());

describe('codes and refresh', () => {
  it('oidcc-codereuse: the second redemption is invalid_grant, and the first access token is revoked', async () => {
    const authorized = await authorize(cert.baton.url, {});
    const tokens = await redeem(await suiteRp(cert.baton.url), authorized);
    const code = authorized.callback.searchParams.get('code')!;
    const second = await postForm(`${cert.baton.url}/token`, new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: SUITE_REDIRECT }), { authorization: basic('oidf-suite', SUITE_SECRET) });
    expect(second.status).toBe(400);
    expect(second.json.error).toBe('invalid_grant');
    const info = await fetch(`${cert.baton.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(info.status).toBe(401);
  });

  it('oidcc-refresh-token: the refresh token refreshes, with an id_token for the same subject', async () => {
    const rp = await suiteRp(cert.baton.url);
    const tokens = await redeem(rp, await authorize(cert.baton.url, { scope: 'openid offline_access', prompt: 'consent' }));
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(refreshed.claims()!.sub).toBe('corp:ann');
  });

  it('oidcc-ensure-request-with-valid-pkce-succeeds: PKCE sent by a client that is not required to', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const authorized = await authorize(cert.baton.url, { code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const tokens = await client.authorizationCodeGrant(await suiteRp(cert.baton.url), authorized.callback, { expectedState: authorized.state, expectedNonce: authorized.nonce, pkceCodeVerifier: verifier });
    expect(tokens.claims()!.sub).toBe('corp:ann');
  });
});
