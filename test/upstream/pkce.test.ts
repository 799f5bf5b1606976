// The PKCE S256 challenge Baton sends an upstream (src/upstream/pkce.ts) is RFC 7636's, byte for
// byte what oauth4webapi's calculatePKCECodeChallenge computes (the function it replaces).
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';

import { pkceChallenge } from '../../src/upstream/pkce.ts';

describe('pkceChallenge', () => {
  it('is RFC 7636 appendix B\'s S256 example', () => {
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('equals oauth4webapi\'s calculatePKCECodeChallenge for its own random verifiers', async () => {
    for (let i = 0; i < 200; i += 1) {
      const verifier = oauth.generateRandomCodeVerifier();
      expect(pkceChallenge(verifier)).toBe(await oauth.calculatePKCECodeChallenge(verifier));
    }
  });
});
