// Mirrors `oidcc-ensure-request-with-acr-values-succeeds` (OIDC Core sections 2, 3.1.2.1 and 5.5.1.1):
// acr_values is a voluntary request, forwarded to the upstream; the id_token carries the upstream's
// acr and amr as it reported them. An essential acr through the claims parameter is met or the
// request fails with unmet_authentication_requirements, never a code and never a sign-in loop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorize, CookieAgent, redeem, startCertification, suiteRp, type Certification } from './certification.ts';

const MFA = 'urn:example:acr:mfa';
let cert: Certification;
beforeAll(async () => {
  cert = await startCertification({ upstream: { acrValues: [MFA, 'urn:example:acr:pwd'] }, upstreamOptions: { authentication: { acr: MFA, amr: ['pwd', 'otp'] } } });
});
afterAll(() => cert?.stop());

const essentialAcr = (values: string[]) => JSON.stringify({ id_token: { acr: { essential: true, values } } });

describe('oidcc-ensure-request-with-acr-values-succeeds', () => {
  it('discovery advertises the upstreams\' acr values, which the suite then sends as acr_values', async () => {
    const discovery = (await (await fetch(`${cert.baton.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.acr_values_supported).toEqual([MFA, 'urn:example:acr:pwd']);
  });

  it('acr_values: the request succeeds, the upstream is asked for them, the id_token has its acr and amr', async () => {
    const before = cert.idp.authorizeRequests.length;
    const authorized = await authorize(cert.baton.url, { acr_values: `${MFA} urn:example:acr:pwd` });
    expect(cert.idp.authorizeRequests[before]!.get('acr_values')).toBe(`${MFA} urn:example:acr:pwd`);
    const claims = (await redeem(await suiteRp(cert.baton.url), authorized)).claims()!;
    expect(claims.acr).toBe(MFA);
    expect(claims.amr).toEqual(['pwd', 'otp']);
  });

  it('acr_values the upstream did not meet is still a success (voluntary), with the acr achieved', async () => {
    const claims = (await redeem(await suiteRp(cert.baton.url), await authorize(cert.baton.url, { acr_values: 'urn:example:acr:hardware-key' }))).claims()!;
    expect(claims.acr).toBe(MFA);
  });

  it('an essential acr the upstream achieved, through the claims parameter: issued', async () => {
    const claims = (await redeem(await suiteRp(cert.baton.url), await authorize(cert.baton.url, { claims: essentialAcr([MFA]) }))).claims()!;
    expect(claims.acr).toBe(MFA);
  });

  it('an essential acr the upstream did not achieve: unmet_authentication_requirements after one upstream trip, with or without a Baton session', async () => {
    const agent = new CookieAgent();
    for (const signedIn of [false, true]) {
      if (signedIn) await authorize(cert.baton.url, {}, agent);
      const before = cert.idp.authorizeRequests.length;
      const authorized = await authorize(cert.baton.url, { claims: essentialAcr(['urn:example:acr:hardware-key']) }, agent);
      // One trip to the upstream, asked for the acr (its own session answers the second time).
      expect(cert.idp.authorizeRequests.length).toBe(before + 1);
      expect(cert.idp.authorizeRequests[before]!.get('acr_values')).toBe('urn:example:acr:hardware-key');
      expect(authorized.upstreamLogins).toBe(signedIn ? 0 : 1);
      expect(authorized.callback.searchParams.get('error')).toBe('unmet_authentication_requirements');
      expect(authorized.callback.searchParams.get('state')).toBe(authorized.state);
      expect(authorized.callback.searchParams.has('code')).toBe(false);
    }
  });
});
