// The upstream's token and revocation endpoints, called with the client's own authentication
// (as received) through oauth4webapi. The upstream's OAuth errors are relayed to the client with
// their status (RFC 6749 section 5.2); an unreachable or failing upstream is a clean 503.
import { randomBytes } from 'node:crypto';

import * as oauth from 'oauth4webapi';

import { merged } from '../lang/merged.ts';
import { safeDescription } from '../orchestration/hook-points.ts';
import { UpstreamError } from '../upstream/connector.ts';
import { requestOptions, translateError } from '../upstream/http.ts';
import { PassthroughError, unavailable } from './errors.ts';
import type { ClientCredentials } from './request.ts';

/** The fields of a successful upstream token response Baton uses (RFC 6749 section 5.1). */
/** The grants the passthrough token endpoint relays to the upstream. */
export type PassthroughGrant = 'authorization_code' | 'refresh_token' | 'urn:ietf:params:oauth:grant-type:device_code';

export interface UpstreamTokenResponse {
  readonly accessToken: string;
  readonly idToken?: string;
  readonly refreshToken?: string;
  readonly scope?: string;
  /** Seconds, when the upstream says how long its refresh token lives (Entra's `refresh_token_expires_in`). */
  readonly refreshTokenExpiresIn?: number;
}

export interface UpstreamEndpoints {
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
  /** The client's realm at Baton, for the challenge of a relayed invalid_client. */
  readonly realm: string;
}

export async function upstreamGrant(
  endpoints: UpstreamEndpoints, client: ClientCredentials, grantType: PassthroughGrant, parameters: Record<string, string | undefined>,
): Promise<UpstreamTokenResponse> {
  const body = new URLSearchParams(Object.entries(parameters).filter((e): e is [string, string] => e[1] !== undefined));
  const response = await reach(() => oauth.genericTokenEndpointRequest(server(endpoints), { client_id: client.clientId }, client.forward, grantType, body, options(endpoints)));
  const json = await response.json().catch(() => undefined) as Record<string, unknown> | undefined;
  if (response.status !== 200) throw relayed(response, json, endpoints.realm, client);
  if (!json || typeof json.access_token !== 'string' || typeof json.token_type !== 'string') {
    throw new PassthroughError(502, 'server_error', 'the upstream token response is not a valid token response');
  }
  const string = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    accessToken: json.access_token,
    idToken: string(json.id_token),
    refreshToken: string(json.refresh_token),
    scope: string(json.scope),
    refreshTokenExpiresIn: typeof json.refresh_token_expires_in === 'number' && json.refresh_token_expires_in > 0 ? json.refresh_token_expires_in : undefined,
  };
}

/**
 * RFC 7009 at the upstream, which authenticates the client first (section 2.1): `revoked`;
 * `refused` when it answered another error after authenticating it (e.g. unsupported_token_type);
 * `unsupported` without a revocation endpoint. A failed client authentication is relayed as
 * thrown (401 invalid_client), an upstream that cannot answer is a thrown 503.
 */
export async function upstreamRevoke(endpoints: UpstreamEndpoints, client: ClientCredentials, token: string): Promise<'revoked' | 'refused' | 'unsupported'> {
  if (typeof endpoints.metadata.revocation_endpoint !== 'string') return 'unsupported';
  const response = await reach(() => oauth.revocationRequest(server(endpoints), { client_id: client.clientId }, client.forward, token, merged(options(endpoints), { additionalParameters: { token_type_hint: 'refresh_token' } })));
  if (response.ok) {
    await response.body?.cancel();
    return 'revoked';
  }
  const json = await response.json().catch(() => undefined) as Record<string, unknown> | undefined;
  if (response.status >= 500 || response.status === 401 || json?.error === 'invalid_client') throw relayed(response, json, endpoints.realm, client);
  return 'refused';
}

/**
 * Whether the upstream accepts the client's authentication, for an upstream without a revocation
 * endpoint: a refresh_token request with a random token no upstream issued, which an upstream
 * that authenticates the client first (RFC 6749 section 6) refuses with invalid_grant, and with
 * invalid_client (thrown, relayed) when the credentials are wrong.
 */
export async function upstreamAuthenticate(endpoints: UpstreamEndpoints, client: ClientCredentials): Promise<void> {
  const probe = new URLSearchParams({ refresh_token: `baton-client-authentication-${randomBytes(16).toString('base64url')}` });
  const response = await reach(() => oauth.genericTokenEndpointRequest(server(endpoints), { client_id: client.clientId }, client.forward, 'refresh_token', probe, options(endpoints)));
  const json = await response.json().catch(() => undefined) as Record<string, unknown> | undefined;
  if (response.status >= 500 || response.status === 401 || json?.error === 'invalid_client') throw relayed(response, json, endpoints.realm, client);
}

function server(endpoints: UpstreamEndpoints): oauth.AuthorizationServer {
  return endpoints.metadata as unknown as oauth.AuthorizationServer;
}

function options(endpoints: UpstreamEndpoints) {
  const insecure = ['token_endpoint', 'revocation_endpoint'].some((f) => typeof endpoints.metadata[f] === 'string' && String(endpoints.metadata[f]).startsWith('http:'));
  return requestOptions(endpoints.timeoutMs, insecure);
}

async function reach(call: () => Promise<Response>): Promise<Response> {
  try {
    return await translateError(call, 'token');
  } catch (err) {
    if (err instanceof UpstreamError) throw unavailable('the upstream identity provider could not be reached; try again later');
    throw err;
  }
}

/** The upstream's own OAuth error, with its status; a 5xx or an unreadable body is Baton's 503 / 502. */
function relayed(response: Response, json: Record<string, unknown> | undefined, realm: string, client: ClientCredentials): PassthroughError {
  if (response.status >= 500) return unavailable('the upstream identity provider failed; try again later');
  if (!json || typeof json.error !== 'string' || !/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/.test(json.error)) {
    return new PassthroughError(502, 'server_error', `the upstream answered HTTP ${response.status} without an OAuth error`);
  }
  const description = typeof json.error_description === 'string' ? safeDescription(json.error_description) : json.error;
  const status = response.status >= 400 && response.status < 500 ? response.status : 400;
  const headers: Record<string, string> = status === 401 ? { 'WWW-Authenticate': client.method === 'client_secret_basic' ? `Basic realm="${realm}"` : `Bearer realm="${realm}"` } : {};
  return new PassthroughError(status, json.error, description, headers);
}
