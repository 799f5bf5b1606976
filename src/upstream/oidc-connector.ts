// The generic OpenID Connect connector, on oauth4webapi (the engine of openid-client): discovery,
// authorization code with PKCE S256 + state + nonce, full id_token validation (signature against
// the upstream JWKS, iss, aud, azp, exp, iat not in the future, typ, nonce, auth_time), userinfo merge, refresh,
// and revocation (RFC 7009). Entra ID's `{tenantid}` issuer template is
// resolved from the token's `tid`, then checked like any other issuer. verifyIdToken checks an
// id_token presented for token exchange (RFC 8693) with jose against the same JWKS.
import * as oauth from 'oauth4webapi';

import { merged } from '../lang/merged.ts';
import { mapClaims, stableSubject } from './claims.ts';
import {
  type Connector, type IdTokenCheck, type IdTokenVerifyCapable, type LoginRequest, type PendingLogin, type RefreshCapable,
  type RefreshResult, type RevocationCapable, type UpstreamIdentity, type VerifiedIdToken, UpstreamError,
} from './connector.ts';
import { allowsInsecure, requestOptions, translateError } from './http.ts';
import { checkIdTokenKind, ID_TOKEN_CLOCK_TOLERANCE } from './id-token-kind.ts';
import { IssuerTemplate } from './issuer-template.ts';
import { PresentedIdTokens } from './presented-id-token.ts';
import { pkceChallenge } from './pkce.ts';
import { clientAuthentication, tokensFrom } from './token-endpoint.ts';
import type { ResolvedUpstream } from './resolve.ts';

const DISCOVERY_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** At most one forced JWKS refetch (unknown kid) per upstream in this window. */
const JWKS_REFETCH_COOLDOWN_MS = 30_000;
const FORWARDED_PROMPTS = new Set(['login', 'none', 'consent', 'select_account']);

export class OidcConnector implements Connector, RefreshCapable, RevocationCapable, IdTokenVerifyCapable {
  readonly id: string;
  readonly name: string;
  readonly emailDomains?: readonly string[];
  readonly #settings: ResolvedUpstream;
  readonly #client: oauth.Client;
  readonly #insecure: boolean;
  #discovered?: { at: number; server: Promise<oauth.AuthorizationServer> };
  /** One AuthorizationServer object per resolved issuer: oauth4webapi caches JWKS per object. */
  readonly #byIssuer = new Map<string, oauth.AuthorizationServer>();
  #lastJwksRefetch = 0;
  /** Id tokens presented for token exchange, verified with jose (its own JWKS cache). */
  readonly #presented: PresentedIdTokens;
  #auth?: Promise<oauth.ClientAuth>;
  readonly #template: IssuerTemplate;

  constructor(settings: ResolvedUpstream) {
    this.#settings = settings;
    this.id = settings.id;
    this.name = settings.name;
    this.emailDomains = settings.emailDomains;
    this.#client = { client_id: settings.clientId, [oauth.clockTolerance]: ID_TOKEN_CLOCK_TOLERANCE };
    this.#insecure = allowsInsecure([IssuerTemplate.sample(settings.issuer), settings.discoveryUrl]);
    this.#template = new IssuerTemplate(settings.issuer, settings.tenants);
    this.#presented = new PresentedIdTokens(settings.id, settings.timeoutMs, this.#insecure);
  }

  async begin(request: LoginRequest): Promise<{ url: URL; pending: PendingLogin }> {
    const server = await this.#server();
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const pending: PendingLogin = { state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), codeVerifier, maxAge: request.maxAge };
    const url = new URL(server.authorization_endpoint!);
    const params: Record<string, string | undefined> = {
      client_id: this.#settings.clientId,
      redirect_uri: request.redirectUri,
      response_type: 'code',
      scope: this.#settings.scopes.join(' '),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: pkceChallenge(codeVerifier),
      code_challenge_method: 'S256',
    };
    // What the app asked for wins over the configured extras; absent, the extras stand.
    const fromRequest: Record<string, string | undefined> = {
      prompt: request.prompt && FORWARDED_PROMPTS.has(request.prompt) ? request.prompt : undefined,
      max_age: request.maxAge === undefined ? undefined : String(request.maxAge),
      login_hint: request.loginHint,
      acr_values: request.acrValues,
    };
    for (const source of [params, this.#settings.authorizationParams, fromRequest]) {
      for (const [key, value] of Object.entries(source)) if (value !== undefined) url.searchParams.set(key, value);
    }
    return { url, pending };
  }

  async complete(callback: URL, pending: PendingLogin, redirectUri: string): Promise<UpstreamIdentity> {
    const server = await this.#server();
    const params = this.#validateCallback(server, callback, pending.state);
    const auth = await this.#clientAuth();
    const response = await translateError(() => oauth.authorizationCodeGrantRequest(server, this.#client, auth, params, redirectUri, pending.codeVerifier, this.#options()), 'token');
    const issuerServer = await this.#serverForResponse(server, response);
    const result = await translateError(() => oauth.processAuthorizationCodeResponse(issuerServer, this.#client, response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
      maxAge: pending.maxAge ?? oauth.skipAuthTimeCheck,
    }), 'token');
    await this.#verifySignature(issuerServer, response);
    const idClaims = oauth.getValidatedIdTokenClaims(result)! as unknown as Record<string, unknown>;
    checkIdTokenKind(result.id_token!, idClaims, [this.#settings.clientId]);
    this.#checkRestrictions(issuerServer, idClaims);
    const userinfo = await this.#userinfo(issuerServer, result.access_token, String(idClaims.sub));
    const claims = merged(userinfo, idClaims);
    return {
      upstream: this.id,
      subject: stableSubject(claims, this.#settings.subject),
      claims: mapClaims(claims, this.#settings.claims),
      acr: typeof idClaims.acr === 'string' ? idClaims.acr : undefined,
      amr: Array.isArray(idClaims.amr) ? idClaims.amr.filter((v): v is string => typeof v === 'string') : undefined,
      authTime: typeof idClaims.auth_time === 'number' && idClaims.auth_time > 0 ? idClaims.auth_time : undefined,
      tokens: tokensFrom(result),
    };
  }

  async refresh(refreshToken: string): Promise<RefreshResult> {
    const server = await this.#server();
    const auth = await this.#clientAuth();
    const response = await translateError(() => oauth.refreshTokenGrantRequest(server, this.#client, auth, refreshToken, this.#options()), 'token');
    const issuerServer = await this.#serverForResponse(server, response);
    const result = await translateError(() => oauth.processRefreshTokenResponse(issuerServer, this.#client, response), 'token');
    const idClaims = oauth.getValidatedIdTokenClaims(result) as unknown as Record<string, unknown> | undefined;
    if (idClaims) {
      await this.#verifySignature(issuerServer, response);
      checkIdTokenKind(result.id_token!, idClaims, [this.#settings.clientId]);
      this.#checkRestrictions(issuerServer, idClaims);
    }
    if (!idClaims) return { tokens: tokensFrom(result) };
    return { tokens: tokensFrom(result), claims: mapClaims(idClaims, this.#settings.claims), idToken: { issuer: String(idClaims.iss), subject: String(idClaims.sub) } };
  }

  /** OpenID Connect RP-Initiated Logout 1.0: the upstream's end_session_endpoint, when it has one. */
  async endSessionEndpoint(): Promise<string | undefined> {
    return (await this.#server()).end_session_endpoint;
  }

  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    const server = await this.#server();
    if (!server.revocation_endpoint) return false;
    const auth = await this.#clientAuth();
    const response = await translateError(() => oauth.revocationRequest(server, this.#client, auth, token, merged(this.#options(), { additionalParameters: { token_type_hint: hint } })), 'revocation');
    await translateError(() => oauth.processRevocationResponse(response), 'revocation');
    return true;
  }

  /**
   * An id_token presented outside a sign-in (RFC 8693 token exchange): signature against the
   * upstream JWKS, iss (a `{tenantid}` template resolved from `tid`, allowed tenants only), aud
   * (one of `check.audiences`), exp, iat no older than `check.maxAge`, then the hosted-domain rule.
   */
  async verifyIdToken(token: string, check: IdTokenCheck): Promise<VerifiedIdToken> {
    const server = await this.#server();
    const issuer = this.#template.isTemplate ? this.#template.issuerOfToken(token) : server.issuer;
    const payload = await this.#presented.verify(token, server.jwks_uri!, issuer, check);
    const claims = payload as Record<string, unknown>;
    this.#checkRestrictions(this.#forIssuer(server, issuer), claims);
    return {
      subject: stableSubject(claims, this.#settings.subject),
      claims: mapClaims(claims, this.#settings.claims),
      payload: claims,
      acr: typeof claims.acr === 'string' ? claims.acr : undefined,
      amr: Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : undefined,
      authTime: typeof claims.auth_time === 'number' && claims.auth_time > 0 ? claims.auth_time : undefined,
    };
  }

  #options() {
    return requestOptions(this.#settings.timeoutMs, this.#insecure);
  }

  /** Discovery, cached for a day; a failed refetch keeps serving the previous document. */
  #server(): Promise<oauth.AuthorizationServer> {
    const now = Date.now();
    if (this.#discovered && now - this.#discovered.at < DISCOVERY_MAX_AGE_MS) return this.#discovered.server;
    const previous = this.#discovered;
    const server = this.#discover().catch((err: unknown) => {
      if (this.#discovered?.server === server) this.#discovered = previous;
      if (previous) return previous.server;
      throw err;
    });
    this.#discovered = { at: now, server };
    return server;
  }

  async #discover(): Promise<oauth.AuthorizationServer> {
    const { issuer, discoveryUrl } = this.#settings;
    const expected = new URL(issuer!);
    const response = await translateError(() => (discoveryUrl
      ? fetch(discoveryUrl, { signal: AbortSignal.timeout(this.#settings.timeoutMs), headers: { accept: 'application/json' }, redirect: 'manual' })
      : oauth.discoveryRequest(expected, merged(this.#options(), { algorithm: 'oidc' as const }))), 'discovery');
    const server = await translateError(() => oauth.processDiscoveryResponse(expected, response), 'discovery');
    if (!server.authorization_endpoint || !server.token_endpoint || !server.jwks_uri) {
      throw new UpstreamError('invalid_response', `the discovery document of ${this.id} lacks authorization, token or jwks endpoints`);
    }
    return server;
  }

  /** RFC 9207: an `iss` in the callback must be this upstream's (for a template, one of its tenants). */
  #validateCallback(server: oauth.AuthorizationServer, callback: URL, state: string): URLSearchParams {
    let checked = server;
    const iss = callback.searchParams.get('iss');
    if (this.#template.isTemplate) {
      checked = iss ? this.#forIssuer(server, this.#template.issuerOfCallback(iss)) : merged(server, { authorization_response_iss_parameter_supported: false });
    }
    try {
      return oauth.validateAuthResponse(checked, this.#client, callback, state);
    } catch (err) {
      if (err instanceof oauth.AuthorizationResponseError) {
        throw new UpstreamError('authorization_error', err.error_description ?? err.error, err.error);
      }
      throw new UpstreamError('invalid_response', 'the upstream callback failed validation', undefined, { cause: err });
    }
  }

  /** For a `{tenantid}` issuer, the server object of the tenant named by the (still unverified) id_token. */
  async #serverForResponse(server: oauth.AuthorizationServer, response: Response): Promise<oauth.AuthorizationServer> {
    if (!this.#template.isTemplate) return server;
    const body = (await response.clone().json().catch(() => ({}))) as { id_token?: unknown };
    if (typeof body.id_token !== 'string') return server;
    return this.#forIssuer(server, this.#template.issuerOfToken(body.id_token));
  }

  #forIssuer(server: oauth.AuthorizationServer, issuer: string): oauth.AuthorizationServer {
    let resolved = this.#byIssuer.get(issuer);
    if (!resolved) {
      resolved = merged(server, { issuer });
      this.#byIssuer.set(issuer, resolved);
    }
    return resolved;
  }

  /** Signature against the upstream JWKS; an unknown kid refetches the JWKS once (rate limited). */
  async #verifySignature(server: oauth.AuthorizationServer, response: Response): Promise<void> {
    try {
      await oauth.validateApplicationLevelSignature(server, response, this.#options());
    } catch (err) {
      const now = Date.now();
      if (err instanceof oauth.OperationProcessingError && err.code === oauth.KEY_SELECTION && now - this.#lastJwksRefetch > JWKS_REFETCH_COOLDOWN_MS) {
        this.#lastJwksRefetch = now;
        // oauth4webapi caches the JWKS per server object: a fresh object means a fresh download.
        const fresh = { ...server };
        this.#byIssuer.set(server.issuer, fresh);
        if (this.#discovered && !this.#template.isTemplate) this.#discovered = { at: this.#discovered.at, server: Promise.resolve(fresh) };
        await translateError(() => oauth.validateApplicationLevelSignature(fresh, response, this.#options()), 'jwks');
        return;
      }
      await translateError(() => Promise.reject(err), 'jwks');
    }
  }

  #checkRestrictions(server: oauth.AuthorizationServer, claims: Record<string, unknown>): void {
    if (!this.#template.matches(server.issuer, claims)) {
      throw new UpstreamError('invalid_response', 'the id_token tid does not match its issuer');
    }
    const { hostedDomain } = this.#settings;
    if (hostedDomain && claims.hd !== hostedDomain) {
      throw new UpstreamError('not_allowed', `only ${hostedDomain} accounts may sign in here`);
    }
  }

  async #userinfo(server: oauth.AuthorizationServer, accessToken: string, sub: string): Promise<Record<string, unknown>> {
    const endpoint = this.#settings.userinfoEndpoint ?? server.userinfo_endpoint;
    if (!endpoint) return {};
    const target = merged(server, { userinfo_endpoint: endpoint });
    try {
      const response = await oauth.userInfoRequest(target, this.#client, accessToken, this.#options());
      return { ...(await oauth.processUserInfoResponse(target, this.#client, sub, response)) };
    } catch {
      // Userinfo only adds claims; the validated id_token already identifies the user.
      return {};
    }
  }

  #clientAuth(): Promise<oauth.ClientAuth> {
    this.#auth ??= clientAuthentication(this.#settings);
    return this.#auth;
  }
}
