// Mirrors `oidcc-idtoken-rs256` and `oidcc-idtoken-signature`: a client that registers no
// `id_token_signed_response_alg` gets RS256 id_tokens (OpenID Connect Registration section 2), signed
// by a key the JWKS publishes; a client that chose ES256 keeps it; access tokens keep their
// resource's algorithm. A deployment whose stored key set has no RS256 key gets one at start.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { scratchDir } from '../helpers/baton.ts';
import { authorize, redeem, startCertification, suiteClient, suiteRp, type Certification } from './certification.ts';

const API = 'https://api.example/';
let cert: Certification;
beforeAll(async () => {
  cert = await startCertification({
    raw: { resources: [{ id: API, scopes: ['read'] }] },
    clients: [suiteClient({ resources: [{ id: API }] }), suiteClient({ client_id: 'es256-app', id_token_signed_response_alg: 'ES256' })],
  });
});
afterAll(() => cert?.stop());

async function jwks(issuer: string) {
  return createLocalJWKSet((await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet);
}

describe('oidcc-idtoken-rs256', () => {
  it('a client without id_token_signed_response_alg gets an RS256 id_token, verifiable with the published JWKS', async () => {
    const tokens = await redeem(await suiteRp(cert.baton.url), await authorize(cert.baton.url, {}));
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    await jwtVerify(tokens.id_token!, await jwks(cert.baton.url), { issuer: cert.baton.url, audience: 'oidf-suite', algorithms: ['RS256'] });
  });

  it('a client that chose ES256 keeps ES256', async () => {
    const tokens = await redeem(await suiteRp(cert.baton.url, 'es256-app'), await authorize(cert.baton.url, { client_id: 'es256-app' }));
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('ES256');
  });

  it('access tokens keep their resource\'s algorithm (the first of keys.signing: ES256)', async () => {
    const tokens = await redeem(await suiteRp(cert.baton.url), await authorize(cert.baton.url, { scope: 'openid read', resource: API }), { resource: API });
    expect(decodeProtectedHeader(tokens.access_token).alg).toBe('ES256');
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
  });

  it('discovery lists RS256 among id_token_signing_alg_values_supported', async () => {
    const discovery = (await (await fetch(`${cert.baton.url}/.well-known/openid-configuration`)).json()) as Record<string, string[]>;
    expect(discovery.id_token_signing_alg_values_supported).toContain('RS256');
  });
});

describe('an existing deployment whose key set lacks RS256', () => {
  it('gets an RS256 key at start, and RS256 id_tokens', async () => {
    const dir = scratchDir();
    const storage = { type: 'sqlite', path: `${dir.path}/baton.db` };
    try {
      const before = await startCertification({ raw: { storage, keys: { masterSecret: 'test-master-secret-0123456789abcdefghij', signing: ['ES256'] } } });
      const old = (await (await fetch(`${before.baton.url}/jwks`)).json()) as { keys: Array<{ alg: string; kid: string }> };
      expect(old.keys.map((k) => k.alg)).toEqual(['ES256']);
      await before.stop();

      const after = await startCertification({ raw: { storage } });
      try {
        const published = (await (await fetch(`${after.baton.url}/jwks`)).json()) as { keys: Array<{ alg: string; kid: string }> };
        expect(published.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
        // The ES256 key is the one the deployment had: kept, not replaced.
        expect(published.keys.find((k) => k.alg === 'ES256')!.kid).toBe(old.keys[0]!.kid);
        const tokens = await redeem(await suiteRp(after.baton.url), await authorize(after.baton.url, {}));
        expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
      } finally {
        await after.stop();
      }
    } finally {
      dir.remove();
    }
  });
});
