// RS256 signing keys for the demo IdP (and the test upstreams), as JWKs oidc-provider accepts.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import type { JWK } from 'oidc-provider';
import { merged } from '../../lang/merged.ts';

export type SigningJwk = JWK & { kid: string; alg: 'RS256'; use: 'sig' };

export function generateSigningKey(): SigningJwk {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return merged(jwk, { kid: randomBytes(15).toString('base64url'), alg: 'RS256', use: 'sig' });
}

