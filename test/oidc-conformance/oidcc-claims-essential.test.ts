// Mirrors `oidcc-claims-essential` (OIDC Core section 5.5): `name` requested as an essential UserInfo
// claim with scope `openid` only is served at UserInfo and not put in the id_token; requested for
// the id_token, it is there. A client's buildIDTokenClaims / buildUserInfoClaims hook still cannot set
// a reserved claim, whatever the request asked for.
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBaton, freePort, type RunningBaton } from '../helpers/baton.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { ANN, authorize, redeem, startCertification, suiteClient, suiteRp, UPSTREAM_SECRET, type Certification } from './certification.ts';

let cert: Certification;
beforeAll(async () => {
  cert = await startCertification();
});
afterAll(() => cert?.stop());

const claimsParam = (target: 'userinfo' | 'id_token', claims: Record<string, unknown>) => JSON.stringify({ [target]: claims });

describe('oidcc-claims-essential', () => {
  it('discovery says claims_parameter_supported', async () => {
    const discovery = (await (await fetch(`${cert.baton.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.claims_parameter_supported).toBe(true);
  });

  it('name essential for UserInfo: at UserInfo, not in the id_token', async () => {
    const tokens = await redeem(await suiteRp(cert.baton.url), await authorize(cert.baton.url, { scope: 'openid', claims: claimsParam('userinfo', { name: { essential: true } }) }));
    expect(tokens.claims()!.name).toBeUndefined();
    const info = (await (await fetch(`${cert.baton.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<string, unknown>;
    expect(info).toEqual({ sub: 'corp:ann', name: ANN.claims.name });
  });

  it('email essential for the id_token: in the id_token', async () => {
    const tokens = await redeem(await suiteRp(cert.baton.url), await authorize(cert.baton.url, { scope: 'openid', claims: claimsParam('id_token', { email: { essential: true }, auth_time: { essential: true } }) }));
    expect(tokens.claims()).toMatchObject({ email: ANN.claims.email, auth_time: expect.any(Number) });
  });

  it('a malformed claims parameter is invalid_request at the redirect_uri', async () => {
    const { callback, state } = await authorize(cert.baton.url, { claims: '{"userinfo": [' });
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('state')).toBe(state);
  });
});

describe('hooks and the claims parameter', () => {
  let baton: RunningBaton;
  let idp: Upstream;
  beforeAll(async () => {
    const port = await freePort();
    idp = await startUpstream({ profile: 'generic', clients: [{ client_id: 'baton', client_secret: UPSTREAM_SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`] }], users: [ANN] });
    baton = await startBaton({
      upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: UPSTREAM_SECRET }],
      clients: [suiteClient({ hooks: { module: './reserved-claim-hooks.ts' } })],
      hooks: { module: './reserved-userinfo-hooks.ts' },
    }, { port, configDir: fileURLToPath(new URL('./fixtures/', import.meta.url)) });
  });
  afterAll(async () => {
    await baton?.stop();
    await idp?.stop();
  });

  it('a hook setting acr, auth_time, sub or iss does not change them, even when they are requested as essential', async () => {
    const authorized = await authorize(baton.url, { scope: 'openid', acr_values: 'urn:upstream:mfa', claims: JSON.stringify({ id_token: { acr: { essential: false }, auth_time: { essential: true } }, userinfo: { name: { essential: true } } }) });
    const tokens = await redeem(await suiteRp(baton.url), authorized);
    const claims = tokens.claims()!;
    expect(claims.sub).toBe('corp:ann');
    expect(claims.iss).toBe(baton.url);
    expect(claims.acr).not.toBe('hooked');
    expect(claims.auth_time).not.toBe(1);
    expect(claims.department).toBe('research');
    const info = (await (await fetch(`${baton.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<string, unknown>;
    expect(info.sub).toBe('corp:ann');
    expect(info.iss).toBeUndefined();
  });
});
