// Plain OAuth 2 connector (GitHub and the like): authorization code with PKCE S256 and state on
// oauth4webapi, then the user's profile from a userinfo URL. No id_token exists here, so identity
// rests on the TLS-protected token and profile responses.
import * as oauth from 'oauth4webapi';

import { merged } from '../lang/merged.ts';
import { mapClaims, stableSubject } from './claims.ts';
import { type Connector, type LoginRequest, type PendingLogin, type RefreshCapable, type RefreshResult, type UpstreamIdentity, UpstreamError } from './connector.ts';
import { allowsInsecure, requestOptions, translateError } from './http.ts';
import { pkceChallenge } from './pkce.ts';
import { clientAuthentication, tokensFrom } from './token-endpoint.ts';
import type { ResolvedUpstream } from './resolve.ts';

interface EmailEntry {
  email?: unknown;
  primary?: unknown;
  verified?: unknown;
}

export class OAuth2Connector implements Connector, RefreshCapable {
  readonly id: string;
  readonly name: string;
  readonly emailDomains?: readonly string[];
  readonly #settings: ResolvedUpstream;
  readonly #server: oauth.AuthorizationServer;
  readonly #client: oauth.Client;
  readonly #insecure: boolean;

  constructor(settings: ResolvedUpstream) {
    this.#settings = settings;
    this.id = settings.id;
    this.name = settings.name;
    this.emailDomains = settings.emailDomains;
    const authorization = new URL(settings.authorizationEndpoint!);
    this.#server = { issuer: authorization.origin, authorization_endpoint: settings.authorizationEndpoint, token_endpoint: settings.tokenEndpoint };
    this.#client = { client_id: settings.clientId };
    this.#insecure = allowsInsecure([settings.authorizationEndpoint, settings.tokenEndpoint, settings.userinfoEndpoint]);
  }

  async begin(request: LoginRequest): Promise<{ url: URL; pending: PendingLogin }> {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const pending: PendingLogin = { state: oauth.generateRandomState(), codeVerifier };
    const url = new URL(this.#server.authorization_endpoint!);
    url.searchParams.set('client_id', this.#settings.clientId);
    url.searchParams.set('redirect_uri', request.redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', this.#settings.scopes.join(' '));
    url.searchParams.set('state', pending.state);
    url.searchParams.set('code_challenge', pkceChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
    for (const [key, value] of Object.entries(this.#settings.authorizationParams)) url.searchParams.set(key, value);
    if (request.loginHint) url.searchParams.set('login', request.loginHint);
    return { url, pending };
  }

  async complete(callback: URL, pending: PendingLogin, redirectUri: string): Promise<UpstreamIdentity> {
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(this.#server, this.#client, callback, pending.state);
    } catch (err) {
      if (err instanceof oauth.AuthorizationResponseError) throw new UpstreamError('authorization_error', err.error_description ?? err.error, err.error);
      throw new UpstreamError('invalid_response', 'the upstream callback failed validation', undefined, { cause: err });
    }
    const auth = await clientAuthentication(this.#settings);
    const response = await translateError(() => oauth.authorizationCodeGrantRequest(this.#server, this.#client, auth, params, redirectUri, pending.codeVerifier, this.#options()), 'token');
    const result = await translateError(() => oauth.processAuthorizationCodeResponse(this.#server, this.#client, response), 'token');
    const profile = await this.#profile(result.access_token);
    return {
      upstream: this.id,
      subject: stableSubject(profile, this.#settings.subject),
      claims: mapClaims(profile, this.#settings.claims),
      tokens: tokensFrom(result),
    };
  }

  async refresh(refreshToken: string): Promise<RefreshResult> {
    const auth = await clientAuthentication(this.#settings);
    const response = await translateError(() => oauth.refreshTokenGrantRequest(this.#server, this.#client, auth, refreshToken, this.#options()), 'token');
    const result = await translateError(() => oauth.processRefreshTokenResponse(this.#server, this.#client, response), 'token');
    return { tokens: tokensFrom(result) };
  }

  #options() {
    return requestOptions(this.#settings.timeoutMs, this.#insecure);
  }

  async #getJson(url: string, accessToken: string): Promise<unknown> {
    const response = await translateError(() => fetch(url, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(this.#settings.timeoutMs),
      redirect: 'manual',
    }), 'userinfo');
    if (!response.ok) throw new UpstreamError(response.status >= 500 ? 'unreachable' : 'invalid_response', `the upstream userinfo endpoint answered HTTP ${response.status}`);
    return response.json().catch(() => {
      throw new UpstreamError('invalid_response', 'the upstream userinfo response is not JSON');
    });
  }

  /** The profile, with a verified primary email from the emails endpoint when the profile has none. */
  async #profile(accessToken: string): Promise<Record<string, unknown>> {
    const profile = await this.#getJson(this.#settings.userinfoEndpoint!, accessToken);
    if (profile === null || typeof profile !== 'object' || Array.isArray(profile)) throw new UpstreamError('invalid_response', 'the upstream profile is not an object');
    const out: Record<string, unknown> = merged(profile, { email_verified: false });
    if (this.#settings.emailsEndpoint) {
      const emails = await this.#getJson(this.#settings.emailsEndpoint, accessToken).catch(() => []);
      const primary = Array.isArray(emails) ? (emails as EmailEntry[]).find((e) => e.primary === true && e.verified === true && typeof e.email === 'string') : undefined;
      if (primary) Object.assign(out, { email: primary.email, email_verified: true });
    }
    return out;
  }
}
