// The client, APIs, account and one-time artifacts of bench/endpoints.ts, shared by the Baton child
// (endpoints-baton.ts), the bare oidc-provider child (endpoints-bare.ts) and the runner, so both
// servers are asked exactly the same thing and seed their codes and refresh tokens the same way.
import { createHash, randomBytes } from 'node:crypto';

import type Provider from 'oidc-provider';

import { CLIENT_ID, CLIENT_SECRET, REQUESTED_SCOPE, RESOURCE, SCOPES, TOKEN_TTL } from './fixture.ts';

export { CLIENT_ID, CLIENT_SECRET, REQUESTED_SCOPE, RESOURCE, SCOPES, TOKEN_TTL };

/** An API with opaque access tokens: what `/introspect` looks up. */
export const OPAQUE_RESOURCE = 'https://opaque.bench.example';
export const REDIRECT_URI = 'https://app.bench.example/callback';
export const ACCOUNT_ID = 'bench-user';
export const ACCOUNT_CLAIMS = { email: 'bench@example.com', email_verified: true, name: 'Bench User' } as const;
/** OpenID scopes of every seeded code and refresh token (offline_access: a refresh token comes back). */
export const OIDC_SCOPE = 'openid email profile offline_access';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The partner whose JWTs are exchanged (its key lives in the runner, its JWKS on 127.0.0.1). */
export const PARTNER = 'https://partner.bench.example';
export const PARTNER_AUDIENCE = 'baton-bench';

export const BASIC = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`;
export const FORM_HEADERS = { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } as const;

/** One HTTP request of a workload; `body` is the fixed body, or absent when each request takes one from a pool. */
export interface BenchRequest { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string }

/** What a server child is asked to prepare ahead of a slice: one-time artifacts, as request bodies. */
export type PoolKind = 'code' | 'refresh';
export type PrepareRequest = { type: 'prepare'; kind: PoolKind | 'userinfo-code'; count: number; file: string };
export type PrepareReply = { type: 'prepared'; count: number; error?: string };

export function codeBody(code: string, verifier: string): string {
  return new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI }).toString();
}

export function refreshBody(token: string): string {
  return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString();
}

/**
 * One grant and one PKCE-bound code, as a browser sign-in leaves them (test/helpers/seed.ts does the
 * same): through the provider's own models, so the token endpoint does exactly the work it does after
 * a real sign-in. With `resource` the code yields a JWT access token for it; without, an opaque one
 * for userinfo.
 */
export async function seedCode(provider: Provider, resource: string | undefined): Promise<string> {
  const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: CLIENT_ID });
  grant.addOIDCScope(OIDC_SCOPE);
  if (resource) grant.addResourceScope(resource, REQUESTED_SCOPE);
  const grantId = await grant.save();
  const client = await provider.Client.find(CLIENT_ID);
  if (!client) throw new Error(`unknown client ${CLIENT_ID}`);
  const verifier = randomBytes(32).toString('base64url');
  const code = new provider.AuthorizationCode({
    client,
    accountId: ACCOUNT_ID,
    grantId,
    scope: resource ? `${OIDC_SCOPE} ${REQUESTED_SCOPE}` : OIDC_SCOPE,
    redirectUri: REDIRECT_URI,
    codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
    codeChallengeMethod: 'S256',
    nonce: randomBytes(16).toString('base64url'),
    ...(resource ? { resource } : {}),
    authTime: Math.floor(Date.now() / 1000),
    expiresWithSession: false,
    gty: 'authorization_code',
  });
  return codeBody(await code.save(), verifier);
}

/** One grant and the refresh token its code redemption would have issued (for RESOURCE), through the models. */
export async function seedRefreshToken(provider: Provider): Promise<string> {
  const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: CLIENT_ID });
  grant.addOIDCScope(OIDC_SCOPE);
  grant.addResourceScope(RESOURCE, REQUESTED_SCOPE);
  const grantId = await grant.save();
  const client = await provider.Client.find(CLIENT_ID);
  if (!client) throw new Error(`unknown client ${CLIENT_ID}`);
  const token = new provider.RefreshToken({
    client,
    accountId: ACCOUNT_ID,
    grantId,
    scope: `${OIDC_SCOPE} ${REQUESTED_SCOPE}`,
    resource: RESOURCE,
    authTime: Math.floor(Date.now() / 1000),
    nonce: randomBytes(16).toString('base64url'),
    expiresWithSession: false,
    gty: 'authorization_code',
    rotations: 0,
  });
  return refreshBody(await token.save());
}

/** Answers the runner's `prepare` messages: seeds `count` artifacts 16 at a time and writes their bodies to `file`. */
export function servePrepare(provider: Provider, write: (file: string, bodies: string[]) => Promise<void>): void {
  process.on('message', (message: PrepareRequest | { type: string }) => {
    if (message.type !== 'prepare') return;
    const { kind, count, file } = message as PrepareRequest;
    const one = kind === 'refresh' ? () => seedRefreshToken(provider) : () => seedCode(provider, kind === 'code' ? RESOURCE : undefined);
    const bodies: string[] = [];
    let started = 0;
    const worker = async () => {
      while (started < count) {
        started += 1;
        bodies.push(await one());
      }
    };
    const reply = (answer: PrepareReply) => process.send!(answer);
    Promise.all(Array.from({ length: Math.min(16, count) }, worker))
      .then(() => write(file, bodies))
      .then(() => reply({ type: 'prepared', count: bodies.length }))
      .catch((err: unknown) => reply({ type: 'prepared', count: 0, error: err instanceof Error ? err.message : String(err) }));
  });
}
