// Mirrors the Basic OP plan's request-parameter modules: `oidcc-ensure-request-without-nonce-succeeds-for-code-flow`,
// `oidcc-ensure-request-with-unknown-parameter-succeeds`, `oidcc-display-page`, `oidcc-display-popup`,
// `oidcc-ui-locales`, `oidcc-claims-locales`, `oidcc-login-hint`, `oidcc-id-token-hint`,
// `oidcc-response-type-missing` and `oidcc-ensure-registered-redirect-uri` (OIDC Core section 3.1.2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorize, CookieAgent, redeem, startCertification, SUITE_REDIRECT, suiteRp, type Certification } from './certification.ts';

let cert: Certification;
beforeAll(async () => {
  cert = await startCertification();
});
afterAll(() => cert?.stop());

describe('request parameters', () => {
  it('oidcc-ensure-request-without-nonce-succeeds-for-code-flow: no nonce in the request, none in the id_token', async () => {
    const authorized = await authorize(cert.baton.url, { nonce: undefined });
    const claims = (await redeem(await suiteRp(cert.baton.url), { ...authorized, nonce: undefined as unknown as string })).claims()!;
    expect(claims.nonce).toBeUndefined();
  });

  for (const [module, params] of [
    ['oidcc-ensure-request-with-unknown-parameter-succeeds', { extra: 'foobar' }],
    ['oidcc-display-page', { display: 'page' }],
    ['oidcc-display-popup', { display: 'popup' }],
    ['oidcc-ui-locales', { ui_locales: 'se' }],
    ['oidcc-claims-locales', { claims_locales: 'se' }],
    ['oidcc-login-hint', { login_hint: 'ann@example.org' }],
  ] as const) {
    it(`${module}: the request succeeds`, async () => {
      const authorized = await authorize(cert.baton.url, params);
      expect(authorized.callback.searchParams.get('error')).toBeNull();
      expect((await redeem(await suiteRp(cert.baton.url), authorized)).claims()!.sub).toBe('corp:ann');
    });
  }

  it('oidcc-id-token-hint: the previous id_token as hint with prompt=none gives a code for the same subject', async () => {
    const agent = new CookieAgent();
    const rp = await suiteRp(cert.baton.url);
    const first = await redeem(rp, await authorize(cert.baton.url, {}, agent));
    const again = await authorize(cert.baton.url, { prompt: 'none', id_token_hint: first.id_token! }, agent);
    expect((await redeem(rp, again)).claims()!.sub).toBe(first.claims()!.sub);
  });

  it('oidcc-response-type-missing: unsupported_response_type or invalid_request at the redirect_uri, never a code', async () => {
    const { callback } = await authorize(cert.baton.url, { response_type: undefined });
    expect(['invalid_request', 'unsupported_response_type']).toContain(callback.searchParams.get('error'));
    expect(callback.searchParams.has('code')).toBe(false);
  });

  it('oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri is an error page, never a redirect', async () => {
    const response = await fetch(`${cert.baton.url}/authorize?${new URLSearchParams({ client_id: 'oidf-suite', response_type: 'code', scope: 'openid', redirect_uri: `${SUITE_REDIRECT}/elsewhere`, state: 's' })}`, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toMatch(/redirect_uri/);
  });
});
