// The client, APIs and requests of the storage benchmark (bench/storage.ts), shared by the Baton
// child (storage-server.ts) and the load generator (storage-load.ts).
import { CLIENT_ID, CLIENT_SECRET, REQUESTED_SCOPE, RESOURCE, SCOPES } from './fixture.ts';

export { CLIENT_ID, CLIENT_SECRET, RESOURCE, SCOPES };

/** An API with `accessTokenFormat: opaque`: every client_credentials token for it is written to the store. */
export const OPAQUE_RESOURCE = 'https://opaque.bench.example';
export const REDIRECT_URI = 'https://app.bench.example/callback';
/** OpenID scopes of every seeded code; offline_access because a refresh token is part of the workload. */
export const CODE_OIDC_SCOPE = 'openid email offline_access';
export const ACCOUNT_ID = 'bench-user';

export const WORKLOADS = ['client_credentials', 'code'] as const;
export type Workload = (typeof WORKLOADS)[number];
export const WORKLOAD_LABEL: Record<Workload, string> = { client_credentials: 'client_credentials (opaque)', code: 'code redemption' };

/** One seeded authorization code, redeemed exactly once by the load generator. */
export interface SeededCode { code: string; verifier: string }

export const TOKEN_PATH = '/token';
export const TOKEN_HEADERS = {
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`,
  'content-type': 'application/x-www-form-urlencoded',
  accept: 'application/json',
} as const;

export const CLIENT_CREDENTIALS_BODY = new URLSearchParams({ grant_type: 'client_credentials', resource: OPAQUE_RESOURCE, scope: REQUESTED_SCOPE }).toString();

export function codeBody(seeded: SeededCode): string {
  return new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, code_verifier: seeded.verifier, redirect_uri: REDIRECT_URI }).toString();
}
