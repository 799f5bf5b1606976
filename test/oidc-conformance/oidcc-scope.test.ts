// Mirrors `oidcc-scope-profile`, `oidcc-scope-email`, `oidcc-scope-address`, `oidcc-scope-phone`,
// `oidcc-scope-all` and `oidcc-alternate-happy-flow` (formerly `oidcc-ensure-other-scope-order-succeeds`): each scope's standard claims (OIDC
// Core section 5.4), mapped from what the upstream carries, are served at UserInfo with the access
// token the code flow issued, and nothing of a scope not asked for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ANN, authorize, redeem, startCertification, suiteRp, type Certification } from './certification.ts';

let cert: Certification;
beforeAll(async () => {
  cert = await startCertification();
});
afterAll(() => cert?.stop());

async function userinfo(scope: string): Promise<Record<string, unknown>> {
  const tokens = await redeem(await suiteRp(cert.baton.url), await authorize(cert.baton.url, { scope }));
  const response = await fetch(`${cert.baton.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

const { claims } = ANN;
const PROFILE = { name: claims.name, given_name: claims.given_name, family_name: claims.family_name, preferred_username: claims.preferred_username, picture: claims.picture, locale: claims.locale };

describe('scopes at UserInfo', () => {
  it('oidcc-scope-profile: the profile claims the upstream gave, nothing else', async () => {
    expect(await userinfo('openid profile')).toEqual({ sub: 'corp:ann', ...PROFILE });
  });

  it('oidcc-scope-email: email and email_verified', async () => {
    expect(await userinfo('openid email')).toEqual({ sub: 'corp:ann', email: claims.email, email_verified: true });
  });

  it('oidcc-scope-address: the address object', async () => {
    expect(await userinfo('openid address')).toEqual({ sub: 'corp:ann', address: claims.address });
  });

  it('oidcc-scope-phone: phone_number and phone_number_verified', async () => {
    expect(await userinfo('openid phone')).toEqual({ sub: 'corp:ann', phone_number: claims.phone_number, phone_number_verified: true });
  });

  it('oidcc-scope-all and oidcc-alternate-happy-flow: every scope, in any order', async () => {
    const all = { sub: 'corp:ann', ...PROFILE, email: claims.email, email_verified: true, address: claims.address, phone_number: claims.phone_number, phone_number_verified: true };
    expect(await userinfo('openid profile email address phone')).toEqual(all);
    expect(await userinfo('phone address email profile openid')).toEqual(all);
  });

  it('discovery offers the four scopes and their claims', async () => {
    const discovery = (await (await fetch(`${cert.baton.url}/.well-known/openid-configuration`)).json()) as Record<string, string[]>;
    expect(discovery.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'address', 'phone']));
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(['address', 'phone_number', 'phone_number_verified', 'email_verified', 'acr', 'amr']));
  });
});
