// Mirrors `oidcc-server` and `oidcc-server-client-secret-post` (OIDF Basic OP plan): a code flow
// without PKCE, as the suite sends it, by the client registered with `requirePkce: false` (the
// configuration docs/operations.md gives), authenticating with client_secret_basic and _post; the
// id_token checks openid-client makes (iss, aud, nonce, signature, iat, exp) pass. Every other client
// keeps PKCE required.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorize, redeem, startCertification, SUITE_SECRET, suiteClient, suiteRp, type Certification } from './certification.ts';

let cert: Certification;
beforeAll(async () => {
  cert = await startCertification({
    clients: [
      suiteClient(),
      suiteClient({ client_id: 'oidf-suite-post', token_endpoint_auth_method: 'client_secret_post' }),
      suiteClient({ client_id: 'pkce-default', requirePkce: undefined }),
    ],
  });
});
afterAll(() => cert?.stop());

describe('oidcc-server', () => {
  it('a code flow without PKCE succeeds for the client registered with requirePkce: false', async () => {
    const authorized = await authorize(cert.baton.url, { scope: 'openid' });
    expect(authorized.callback.searchParams.get('error')).toBeNull();
    expect(authorized.callback.searchParams.get('iss')).toBe(cert.baton.url);
    const tokens = await redeem(await suiteRp(cert.baton.url), authorized);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: cert.baton.url, aud: 'oidf-suite', sub: 'corp:ann', nonce: authorized.nonce });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(typeof tokens.access_token).toBe('string');
  });

  it('oidcc-server-client-secret-post: the same with client_secret_post', async () => {
    const authorized = await authorize(cert.baton.url, { client_id: 'oidf-suite-post' });
    const rp = await client.discovery(new URL(cert.baton.url), 'oidf-suite-post', undefined, client.ClientSecretPost(SUITE_SECRET), { execute: [client.allowInsecureRequests] });
    expect((await redeem(rp, authorized)).claims()!.aud).toBe('oidf-suite-post');
  });

  it('a client that keeps the default still requires PKCE: invalid_request at its redirect_uri', async () => {
    const authorized = await authorize(cert.baton.url, { client_id: 'pkce-default' });
    expect(authorized.callback.searchParams.get('error')).toBe('invalid_request');
    expect(authorized.callback.searchParams.get('error_description')).toMatch(/PKCE/);
    expect(authorized.upstreamLogins).toBe(0);
  });
});
