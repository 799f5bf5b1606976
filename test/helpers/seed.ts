// Seeds an authorization code as an upstream sign-in will (federation is a later capability): an
// account record, a grant with the approved scopes, and a PKCE-bound code, through the provider's
// own models so the token endpoint sees exactly what a browser flow leaves behind.
import * as client from 'openid-client';

import { ACCOUNT_KIND, type AccountRecord } from '../../src/provider/accounts.ts';
import type { Baton } from '../../src/server.ts';

export interface SeedOptions {
  clientId: string;
  redirectUri: string;
  accountId?: string;
  claims?: Record<string, unknown>;
  /** The upstream the account signed in with (what a real sign-in records); checked by clients' allow-lists. */
  upstream?: string;
  scope?: string;
  resource?: string;
  resourceScope?: string;
  nonce?: string;
}

export interface SeededCode {
  code: string;
  codeVerifier: string;
  nonce: string;
  callbackUrl: (issuer: string, extra?: Record<string, string>) => URL;
}

export async function seedAuthorizationCode(baton: Baton, options: SeedOptions): Promise<SeededCode> {
  const { provider, store } = baton;
  const accountId = options.accountId ?? 'alice';
  const scope = options.scope ?? 'openid email offline_access';
  await store.putRecord<AccountRecord>(ACCOUNT_KIND, accountId, { claims: options.claims ?? { email: 'alice@example.com', email_verified: true, name: 'Alice' }, ...(options.upstream === undefined ? {} : { upstream: options.upstream }) });

  const grant = new provider.Grant({ accountId, clientId: options.clientId });
  grant.addOIDCScope(scope);
  if (options.resource) grant.addResourceScope(options.resource, options.resourceScope ?? '');
  const grantId = await grant.save();

  const codeVerifier = client.randomPKCECodeVerifier();
  const nonce = options.nonce ?? client.randomNonce();
  const registered = await provider.Client.find(options.clientId);
  if (!registered) throw new Error(`unknown client ${options.clientId}`);
  const code = new provider.AuthorizationCode({
    client: registered,
    accountId,
    grantId,
    scope: [scope, options.resourceScope].filter(Boolean).join(' '),
    redirectUri: options.redirectUri,
    codeChallenge: await client.calculatePKCECodeChallenge(codeVerifier),
    codeChallengeMethod: 'S256',
    nonce,
    resource: options.resource,
    authTime: Math.floor(Date.now() / 1000),
    expiresWithSession: false,
    gty: 'authorization_code',
  });
  const value = await code.save();
  return {
    code: value,
    codeVerifier,
    nonce,
    callbackUrl: (issuer, extra = {}) => {
      const url = new URL(options.redirectUri);
      url.searchParams.set('code', value);
      url.searchParams.set('iss', issuer);
      for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
      return url;
    },
  };
}
