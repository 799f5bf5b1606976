// The demo IdP's OpenID Provider: a real oidc-provider instance with one client (Baton), the demo
// users as accounts, profile claims in the id_token (as Entra ID and Google put them there), a
// refresh token with every code, and no single sign-on: it asks for a password at every sign-in,
// so a visitor can switch between alice and bob after signing out at Baton.
import { randomBytes } from 'node:crypto';

import Provider, { interactionPolicy, type Configuration } from 'oidc-provider';

import { merged } from '../../lang/merged.ts';
import { memoryAdapter } from './memory-adapter.ts';
import { generateSigningKey } from './signing-key.ts';
import type { DemoUser } from './users.ts';

export interface IdpClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly client_name: string;
  readonly redirect_uris: readonly string[];
}

export const IDP_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale'],
  email: ['email', 'email_verified'],
};

/** The login prompt is always requested until this authorization request has its own login result. */
function alwaysAskPolicy() {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(new interactionPolicy.Check(
    'demo_always_login', 'The demo IdP asks for credentials at every sign-in',
    (ctx) => (ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT),
  ));
  return policy;
}

export function buildIdpProvider(issuer: string, client: IdpClient, users: readonly DemoUser[]): Provider {
  const byName = new Map(users.map((user) => [user.username, user]));
  const configuration: Configuration = {
    adapter: memoryAdapter(new Map()),
    clients: [merged(client, {
      redirect_uris: [...client.redirect_uris],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })],
    jwks: { keys: [generateSigningKey()] },
    findAccount: (_ctx, id) => {
      const user = byName.get(id);
      return user && { accountId: id, claims: () => (merged(user.claims, { sub: id })) };
    },
    claims: IDP_CLAIMS,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: alwaysAskPolicy() },
    issueRefreshToken: () => true,
    expiresWithSession: () => false,
    ttl: { AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60, RefreshToken: 14 * 24 * 3600, Interaction: 600, Session: 3600, Grant: 14 * 24 * 3600 },
    cookies: { keys: [randomBytes(32).toString('base64url')], long: { httpOnly: true, sameSite: 'lax' }, short: { httpOnly: true, sameSite: 'lax' } },
  };
  return new Provider(issuer, configuration);
}
