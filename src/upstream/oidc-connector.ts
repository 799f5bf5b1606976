// The generic OpenID Connect connector, on oauth4webapi (the engine of openid-client): discovery,
// authorization code with PKCE S256 + state + nonce, full id_token validation (signature against
// the upstream JWKS, iss, aud, azp, exp, iat, nonce, auth_time), userinfo merge, refresh,
// and revocation (RFC 7009). Entra ID's `{tenantid}` issuer template is
// resolved from the token's `tid`, then checked like any other issuer. verifyIdToken checks an
// id_token presented for token exchange (RFC 8693) with jose against the same JWKS.
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, importJWK, jwtVerify, type JWTPayload } from 'jose';
import * as oauth from 'oauth4webapi';

import { mapClaims, stableSubject } from './claims.ts';
import {
  type Connector, type IdTokenCheck, type IdTokenVerifyCapable, type LoginRequest, type PendingLogin, type RefreshCapable,
  type RefreshResult, type RevocationCapable, type UpstreamIdentity, type UpstreamTokens, type VerifiedIdToken, UpstreamError,
} from './connector.ts';
import { allowsInsecure, requestOptions, translateError } from './http.ts';
import type { ResolvedUpstream } from './resolve.ts';

const TENANT = '{tenantid}';
const DISCOVERY_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** At most one forced JWKS refetch (unknown kid) per upstream in this window. */
const JWKS_REFETCH_COOLDOWN_MS = 30_000;
const FORWARDED_PROMPTS = new Set(['login', 'none', 'consent', 'select_account']);
/** id_tokens are signed with the upstream's published keys: never `none` or a shared secret. */
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_TOLERANCE_SECONDS = 30;

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
  /** jose's remote key sets (cached, refetched on an unknown kid at most every 30 s), by jwks_uri. */
  readonly #keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  #auth?: Promise<oauth.ClientAuth>;

  constructor(settings: ResolvedUpstream) {
    this.#settings = settings;
    this.id = settings.id;
    this.name = settings.name;
    this.emailDomains = settings.emailDomains;
    this.#client = { client_id: settings.clientId, [oauth.clockTolerance]: 30 };
    this.#insecure = allowsInsecure([settings.issuer?.replace(TENANT, 'tenant'), settings.discoveryUrl]);
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
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      ...this.#settings.authorizationParams,
      prompt: request.prompt && FORWARDED_PROMPTS.has(request.prompt) ? request.prompt : undefined,
      max_age: request.maxAge === undefined ? undefined : String(request.maxAge),
      login_hint: request.loginHint,
    };
    for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
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
    this.#checkRestrictions(issuerServer, idClaims);
    const userinfo = await this.#userinfo(issuerServer, result.access_token, String(idClaims.sub));
    const merged = { ...userinfo, ...idClaims };
    return {
      upstream: this.id,
      subject: stableSubject(merged, this.#settings.subject),
      claims: mapClaims(merged, this.#settings.claims),
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
      this.#checkRestrictions(issuerServer, idClaims);
    }
    return { tokens: tokensFrom(result), claims: idClaims ? mapClaims(idClaims, this.#settings.claims) : undefined };
  }

  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    const server = await this.#server();
    if (!server.revocation_endpoint) return false;
    const auth = await this.#clientAuth();
    const response = await translateError(() => oauth.revocationRequest(server, this.#client, auth, token, { ...this.#options(), additionalParameters: { token_type_hint: hint } }), 'revocation');
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
    let issuer = server.issuer;
    if (this.#isTemplate()) {
      let tid: unknown;
      try {
        ({ tid } = decodeJwt(token));
      } catch {
        throw new UpstreamError('invalid_response', 'the id_token is malformed');
      }
      if (typeof tid !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(tid)) throw new UpstreamError('invalid_response', 'the id_token has no valid tid');
      issuer = this.#tenantIssuer(tid);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keySet(server), {
        issuer,
        audience: [...check.audiences],
        maxTokenAge: check.maxAge,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        algorithms: ASYMMETRIC_ALGS,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
      }));
    } catch (err) {
      if (jwksUnavailable(err)) throw new UpstreamError('unreachable', 'the upstream JWKS could not be fetched', undefined, { cause: err });
      const reason = err instanceof joseErrors.JWTClaimValidationFailed ? `${err.claim} ${err.reason}` : (err as { code?: string }).code ?? 'invalid';
      throw new UpstreamError('invalid_response', `the id_token failed validation (${reason})`, undefined, { cause: err });
    }
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

  #keySet(server: oauth.AuthorizationServer): ReturnType<typeof createRemoteJWKSet> {
    const uri = server.jwks_uri!;
    let keySet = this.#keySets.get(uri);
    if (!keySet) {
      const url = new URL(uri);
      if (url.protocol !== 'https:' && !this.#insecure) throw new UpstreamError('invalid_response', `the jwks_uri of ${this.id} is not https`);
      keySet = createRemoteJWKSet(url, { timeoutDuration: this.#settings.timeoutMs, cooldownDuration: JWKS_REFETCH_COOLDOWN_MS });
      this.#keySets.set(uri, keySet);
    }
    return keySet;
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
      : oauth.discoveryRequest(expected, { ...this.#options(), algorithm: 'oidc' })), 'discovery');
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
    if (this.#isTemplate()) {
      checked = iss ? this.#forIssuer(server, this.#tenantIssuer(tenantOf(this.#settings.issuer!, iss))) : { ...server, authorization_response_iss_parameter_supported: false };
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
    if (!this.#isTemplate()) return server;
    const body = (await response.clone().json().catch(() => ({}))) as { id_token?: unknown };
    if (typeof body.id_token !== 'string') return server;
    let tid: unknown;
    try {
      ({ tid } = decodeJwt(body.id_token));
    } catch {
      throw new UpstreamError('invalid_response', 'the upstream id_token is malformed');
    }
    if (typeof tid !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(tid)) throw new UpstreamError('invalid_response', 'the upstream id_token has no valid tid');
    return this.#forIssuer(server, this.#tenantIssuer(tid));
  }

  #tenantIssuer(tid: string): string {
    const { tenants } = this.#settings;
    if (tenants && !tenants.includes(tid)) throw new UpstreamError('not_allowed', 'this organization (tenant) is not allowed to sign in here');
    return this.#settings.issuer!.replace(TENANT, tid);
  }

  #forIssuer(server: oauth.AuthorizationServer, issuer: string): oauth.AuthorizationServer {
    let resolved = this.#byIssuer.get(issuer);
    if (!resolved) {
      resolved = { ...server, issuer };
      this.#byIssuer.set(issuer, resolved);
    }
    return resolved;
  }

  #isTemplate(): boolean {
    return this.#settings.issuer?.includes(TENANT) ?? false;
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
        if (this.#discovered && !this.#isTemplate()) this.#discovered = { at: this.#discovered.at, server: Promise.resolve(fresh) };
        await translateError(() => oauth.validateApplicationLevelSignature(fresh, response, this.#options()), 'jwks');
        return;
      }
      await translateError(() => Promise.reject(err), 'jwks');
    }
  }

  #checkRestrictions(server: oauth.AuthorizationServer, claims: Record<string, unknown>): void {
    if (this.#isTemplate() && server.issuer !== this.#settings.issuer!.replace(TENANT, String(claims.tid))) {
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
    const target = { ...server, userinfo_endpoint: endpoint };
    try {
      const response = await oauth.userInfoRequest(target, this.#client, accessToken, this.#options());
      return { ...(await oauth.processUserInfoResponse(target, this.#client, sub, response)) };
    } catch {
      // Userinfo only adds claims; the validated id_token already identifies the user.
      return {};
    }
  }

  #clientAuth(): Promise<oauth.ClientAuth> {
    this.#auth ??= (async () => {
      const { authMethod, clientSecret, privateKey } = this.#settings;
      if (authMethod === 'client_secret_post') return oauth.ClientSecretPost(clientSecret!);
      if (authMethod === 'private_key_jwt') {
        const jwk = privateKey as { alg?: string; kid?: string };
        const key = (await importJWK(privateKey!, jwk.alg ?? 'RS256')) as CryptoKey;
        return oauth.PrivateKeyJwt({ key, kid: jwk.kid });
      }
      return oauth.ClientSecretBasic(clientSecret!);
    })();
    return this.#auth;
  }
}

function tenantOf(template: string, issuer: string): string {
  const [prefix, suffix] = template.split(TENANT) as [string, string];
  if (!issuer.startsWith(prefix) || !issuer.endsWith(suffix)) throw new UpstreamError('invalid_response', 'the callback iss is not an issuer of this upstream');
  const tid = issuer.slice(prefix.length, issuer.length - suffix.length);
  if (!/^[A-Za-z0-9-]{1,64}$/.test(tid)) throw new UpstreamError('invalid_response', 'the callback iss is not an issuer of this upstream');
  return tid;
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

/** The key set could not be fetched (timeout, network, non-200 answer): the issuer, not the token, is at fault. */
function jwksUnavailable(err: unknown): boolean {
  return err instanceof joseErrors.JWKSTimeout || err instanceof TypeError || (err as { code?: string } | null)?.code === 'ERR_JOSE_GENERIC';
}
