// What Baton needs from an upstream identity provider: a small core (start a sign-in, finish it)
// and optional capabilities the server checks for where it needs them (refresh, revocation,
// logout), as Dex does with its connectors.

/** Tokens received from the upstream; kept server-side only (see vault.ts). */
export interface UpstreamTokens {
  readonly accessToken?: string;
  readonly refreshToken?: string;
  readonly idToken?: string;
  /** Epoch seconds when the access token expires, when the upstream said. */
  readonly expiresAt?: number;
  readonly scope?: string;
}

export interface UpstreamIdentity {
  readonly upstream: string;
  /** The stable upstream subject (e.g. `tid:oid` for Entra ID). */
  readonly subject: string;
  /** Claims mapped to Baton's names. */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly acr?: string;
  readonly amr?: readonly string[];
  readonly authTime?: number;
  readonly tokens: UpstreamTokens;
}

export interface LoginRequest {
  readonly redirectUri: string;
  readonly prompt?: string;
  readonly maxAge?: number;
  readonly loginHint?: string;
  /** OIDC Core section 3.1.2.1 `acr_values`, space-separated, in the upstream's vocabulary (Baton passes acr through). */
  readonly acrValues?: string;
}

/** What must survive between the redirect to the upstream and its callback. */
export interface PendingLogin {
  readonly state: string;
  readonly nonce?: string;
  readonly codeVerifier: string;
  readonly maxAge?: number;
}

export interface Connector {
  readonly id: string;
  readonly name: string;
  /** Verified email domains accepted (and routed here by login_hint); undefined: any. */
  readonly emailDomains?: readonly string[];
  begin(request: LoginRequest): Promise<{ url: URL; pending: PendingLogin }>;
  /** Validates the callback fully (state, code exchange, id_token) and returns the identity. */
  complete(callback: URL, pending: PendingLogin, redirectUri: string): Promise<UpstreamIdentity>;
}

export interface RefreshResult {
  readonly tokens: UpstreamTokens;
  /** Claims refreshed with the tokens (new id_token or userinfo), when the upstream gave any. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** The `iss` and `sub` of the id_token the refresh returned, if any (OIDC Core 12.2: they must not change). */
  readonly idToken?: { readonly issuer: string; readonly subject: string };
}

export interface RefreshCapable {
  refresh(refreshToken: string): Promise<RefreshResult>;
}

export interface EndSessionCapable {
  /** The upstream's end_session_endpoint (from discovery); undefined when it has none. */
  endSessionEndpoint(): Promise<string | undefined>;
}

export function canEndSession(c: Connector): c is Connector & EndSessionCapable {
  return typeof (c as Partial<EndSessionCapable>).endSessionEndpoint === 'function';
}

export interface RevocationCapable {
  /** RFC 7009; resolves false when the upstream does not advertise revocation. */
  revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean>;
}

/** What an id_token presented for token exchange (RFC 8693 section 2.1) must satisfy besides its signature and issuer. */
export interface IdTokenCheck {
  /** Accepted `aud` values: Baton's client id at the upstream, plus any allow-listed ones. */
  readonly audiences: readonly string[];
  /** Seconds: the oldest `iat` accepted. */
  readonly maxAge: number;
}

/** An upstream id_token verified outside a sign-in (signature, iss, aud, exp, iat). */
export interface VerifiedIdToken {
  /** The stable upstream subject, as at sign-in (e.g. `tid:oid` for Entra ID). */
  readonly subject: string;
  /** Claims mapped to Baton's names. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The verified payload, unmapped (jti, exp, may_act...). */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly acr?: string;
  readonly amr?: readonly string[];
  readonly authTime?: number;
}

export interface IdTokenVerifyCapable {
  /** Rejects with an UpstreamError (`invalid_response`, `not_allowed`, `unreachable`) when the token does not verify. */
  verifyIdToken(token: string, check: IdTokenCheck): Promise<VerifiedIdToken>;
}

export function canVerify(c: Connector): c is Connector & IdTokenVerifyCapable {
  return typeof (c as Partial<IdTokenVerifyCapable>).verifyIdToken === 'function';
}

export function canRefresh(c: Connector): c is Connector & RefreshCapable {
  return typeof (c as Partial<RefreshCapable>).refresh === 'function';
}

export function canRevoke(c: Connector): c is Connector & RevocationCapable {
  return typeof (c as Partial<RevocationCapable>).revoke === 'function';
}

export type UpstreamErrorKind =
  /** The upstream answered the authorization request with an OAuth error (access_denied...). */
  | 'authorization_error'
  /** The upstream could not be reached, or not in time. */
  | 'unreachable'
  /** A response failed validation (state, id_token signature or claims, bad JSON...). */
  | 'invalid_response'
  /** The identity is valid but not allowed here (email domain, tenant, hosted domain). */
  | 'not_allowed'
  /** The upstream refused a grant (e.g. the refresh token is revoked). */
  | 'grant_refused';

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    /** OAuth error code from the upstream, for authorization_error and grant_refused. */
    readonly oauthError?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
