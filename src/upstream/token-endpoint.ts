// What both connectors need at an upstream token endpoint: Baton's client authentication there
// (client_secret_basic, client_secret_post for IdPs that do not percent-decode Basic credentials,
// private_key_jwt) and the token response as the vault keeps it.
import { importJWK } from 'jose';
import * as oauth from 'oauth4webapi';

import type { UpstreamTokens } from './connector.ts';
import type { ResolvedUpstream } from './resolve.ts';

export async function clientAuthentication({ authMethod, clientSecret, privateKey }: ResolvedUpstream): Promise<oauth.ClientAuth> {
  if (authMethod === 'client_secret_post') return oauth.ClientSecretPost(clientSecret!);
  if (authMethod === 'private_key_jwt') {
    const jwk = privateKey as { alg?: string; kid?: string };
    const key = (await importJWK(privateKey!, jwk.alg ?? 'RS256')) as CryptoKey;
    return oauth.PrivateKeyJwt({ key, kid: jwk.kid });
  }
  return oauth.ClientSecretBasic(clientSecret!);
}

export function tokensFrom(result: oauth.TokenEndpointResponse): UpstreamTokens {
  return {
    accessToken: result.access_token,
    refreshToken: result.refresh_token,
    idToken: result.id_token,
    expiresAt: typeof result.expires_in === 'number' ? Math.floor(Date.now() / 1000) + result.expires_in : undefined,
    scope: result.scope,
  };
}
