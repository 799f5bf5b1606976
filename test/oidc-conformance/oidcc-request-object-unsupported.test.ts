// Mirrors `oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported`,
// `oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported` and
// `oidcc-ensure-request-object-with-redirect-uri`: Baton does not support request objects, says so in
// discovery, and answers exactly the errors the plan accepts (OIDC Core section 6.1 and 6.2:
// request_not_supported, request_uri_not_supported) at the redirect_uri, with the state, never a code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorize, startCertification, type Certification } from './certification.ts';

let cert: Certification;
beforeAll(async () => {
  cert = await startCertification();
});
afterAll(() => cert?.stop());

const unsigned = (claims: Record<string, unknown>) => `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

describe('request objects are not supported', () => {
  it('discovery does not offer them', async () => {
    const discovery = (await (await fetch(`${cert.baton.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.request_parameter_supported ?? false).toBe(false);
    expect(discovery.request_uri_parameter_supported).toBe(false);
  });

  it('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: request_not_supported', async () => {
    const request = unsigned({ client_id: 'oidf-suite', response_type: 'code', scope: 'openid', redirect_uri: 'https://suite.example/test/a/baton/callback' });
    const { callback, state, upstreamLogins } = await authorize(cert.baton.url, { request });
    expect(callback.searchParams.get('error')).toBe('request_not_supported');
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.has('code')).toBe(false);
    expect(upstreamLogins).toBe(0);
  });

  it('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported: request_uri_not_supported', async () => {
    const { callback, state, upstreamLogins } = await authorize(cert.baton.url, { request_uri: 'https://suite.example/requests/1' });
    expect(callback.searchParams.get('error')).toBe('request_uri_not_supported');
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.has('code')).toBe(false);
    expect(upstreamLogins).toBe(0);
  });

  it('oidcc-ensure-request-object-with-redirect-uri: the same error when the request object carries the redirect_uri', async () => {
    const request = unsigned({ redirect_uri: 'https://suite.example/test/a/baton/callback', state: 'inside' });
    const { callback } = await authorize(cert.baton.url, { request });
    expect(callback.searchParams.get('error')).toBe('request_not_supported');
  });
});
