// The public types of service-extension hooks: what a hook module exports, the read-only context it
// receives and the `api` it may use. Hook authors import from this file (see docs/hooks.md).

/** A JSON value: what claims, attributes, session values and cache entries may hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Every hook Baton knows, in pipeline order. Any other hook-like export is refused at load time. */
export const HOOK_NAMES = [
  'isAuthenticated', 'authenticate', 'authenticateBackchannel', 'isAuthorized', 'loadAttrs',
  'buildIDTokenClaims', 'buildAccessTokenClaims', 'buildUserInfoClaims',
] as const;

export type HookName = (typeof HOOK_NAMES)[number];

/** The signed-in user, as the hooks see it. */
export interface HookUser {
  /** Baton's subject: `{upstream}:{stable subject}` (`~password/...`, `~issuer/...` for other sources: provider/accounts.ts). */
  readonly sub: string;
  /** Id of the upstream the user signed in with. */
  readonly upstream?: string;
  /** The user's subject at that upstream. */
  readonly upstreamSubject?: string;
  /** Mapped claims of the user (email, name...). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Attributes loaded by `loadAttrs` (and rules), carried through the pipeline. */
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** What a hook is asked about. Deep-frozen: any attempt to modify it throws. */
export interface HookContext {
  /** The hook being called. */
  readonly hook: HookName;
  readonly client: { readonly id: string; readonly name?: string };
  readonly flow: 'authorization' | 'token' | 'userinfo';
  /** Token endpoint: the grant type (`authorization_code`, `refresh_token`, `client_credentials`...). */
  readonly grantType?: string;
  /** Requested (authorization) or granted (token, userinfo) scopes. */
  readonly scopes: readonly string[];
  /** Token endpoint: the resource (RFC 8707) the access token is for. */
  readonly resource?: string;
  /** Authorization flow: the authorization request parameters. */
  readonly params: Readonly<Record<string, string | undefined>>;
  /** Absent for client_credentials (no user). */
  readonly user?: HookUser;
  /** The request id, as in Baton's logs and error pages. */
  readonly requestId: string;
}

/** The context of `authenticateBackchannel`: the credentials the client sent. */
export type BackchannelContext = HookContext & { readonly username: string; readonly password: string };

/** Services a hook may use. */
export interface HookApi {
  /** Read-only view of the upstream sign-in (absent when there is none). */
  readonly upstream?: {
    readonly id: string;
    readonly claims: Readonly<Record<string, unknown>>;
    readonly tokens: { readonly accessToken?: string; readonly idToken?: string };
  };
  /** Per-user attributes carried to later hooks of the same sign-in (JSON values). */
  readonly session: { get(key: string): unknown; set(key: string, value: unknown): void };
  /** Shared cache backed by Baton's store, namespaced per module; values are JSON. */
  readonly cache: {
    get(key: string): Promise<unknown>;
    set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  };
  /** Secrets from the configuration. Their values are scrubbed from anything logged through `logger`. */
  readonly secrets: { get(name: string): string | undefined };
  /** Structured log lines (JSON), tagged with the hook module. */
  readonly logger: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
  };
  /** The global fetch, aborted when the hook's deadline passes. */
  readonly fetch: typeof fetch;
}

/** `authenticate`: sign in with this upstream, or refuse. */
export type AuthenticateResult = { readonly upstream: string } | { readonly deny: string };

/**
 * `authenticateBackchannel`: the user's subject and claims, or a refusal. A refusal for a known
 * user may name its `sub`: failures then count against that user whatever spelling of the
 * username was sent (the lockout follows the identity, not the string).
 */
export type BackchannelResult = { readonly sub: string; readonly claims?: Record<string, unknown> } | { readonly deny: string; readonly sub?: string };

/** `isAuthorized`: `true`/`false`, or a refusal with a reason shown to the user and the client. */
export type AuthorizedResult = boolean | { readonly allow: false; readonly reason: string } | { readonly allow: true };

type Maybe<T> = T | Promise<T>;

/** What a hook module exports (named exports, or one default export object). Every hook is optional. */
export interface Hooks {
  /**
   * Before reusing an existing Baton session: `false` forces a fresh sign-in.
   * @example
   * export const isAuthenticated: Hooks['isAuthenticated'] = (ctx) => ctx.params.prompt !== 'login';
   */
  isAuthenticated?(ctx: HookContext, api: HookApi): Maybe<boolean>;
  /**
   * Before routing to an upstream: pick one (`{ upstream: id }`), refuse (`{ deny: reason }`) or
   * return `undefined` for Baton's default routing (idp_hint, login_hint, chooser).
   * @example
   * export const authenticate: Hooks['authenticate'] = (ctx) =>
   *   ctx.client.id === 'partner-portal' ? { upstream: 'okta' } : undefined;
   */
  authenticate?(ctx: HookContext, api: HookApi): Maybe<AuthenticateResult | undefined>;
  /**
   * Password grant (ROPC), only through this hook: check the credentials, return the subject.
   * @example
   * export const authenticateBackchannel: Hooks['authenticateBackchannel'] = async (ctx, api) => {
   *   const res = await api.fetch('https://ldap-bridge/verify', { method: 'POST', body: JSON.stringify({ u: ctx.username, p: ctx.password }) });
   *   return res.ok ? { sub: ctx.username, claims: await res.json() } : { deny: 'invalid credentials' };
   * };
   */
  authenticateBackchannel?(ctx: BackchannelContext, api: HookApi): Maybe<BackchannelResult>;
  /**
   * After sign-in, loadAttrs and the declarative rules: allow or deny.
   * @example
   * export const isAuthorized: Hooks['isAuthorized'] = (ctx) =>
   *   ctx.user?.attrs.active === true || { allow: false, reason: 'Your account is not active' };
   */
  isAuthorized?(ctx: HookContext, api: HookApi): Maybe<AuthorizedResult>;
  /**
   * After sign-in: attributes merged into `user.attrs` (JSON values).
   * @example
   * export const loadAttrs: Hooks['loadAttrs'] = async (ctx, api) =>
   *   (await api.fetch(`https://hr.internal/people/${ctx.user!.sub}`)).json();
   */
  loadAttrs?(ctx: HookContext, api: HookApi): Maybe<Record<string, unknown> | undefined>;
  /**
   * Extra id_token claims (authorization_code only). Reserved claims are dropped.
   * @example
   * export const buildIDTokenClaims: Hooks['buildIDTokenClaims'] = (ctx) => ({ department: ctx.user?.attrs.department });
   */
  buildIDTokenClaims?(ctx: HookContext, api: HookApi): Maybe<Record<string, unknown>>;
  /**
   * Extra access token claims, for every grant and every access token (see `ctx.resource`).
   * @example
   * export const buildAccessTokenClaims: Hooks['buildAccessTokenClaims'] = (ctx) => ({ tenant: ctx.user?.attrs.tenant ?? 'service' });
   */
  buildAccessTokenClaims?(ctx: HookContext, api: HookApi): Maybe<Record<string, unknown>>;
  /**
   * The whole userinfo response (provider-level hook): replaces the scope-based claims; Baton adds `sub`.
   * @example
   * export const buildUserInfoClaims: Hooks['buildUserInfoClaims'] = (ctx) => ({ name: ctx.user?.claims.name });
   */
  buildUserInfoClaims?(ctx: HookContext, api: HookApi): Maybe<Record<string, unknown>>;
}

/**
 * Identity helper for typed authoring: `export default defineHooks({ ... })` types every parameter,
 * and a misspelt hook name is a compile error (excess property).
 * @example
 * export default defineHooks({ buildAccessTokenClaims: (ctx) => ({ roles: ctx.user?.attrs.roles ?? [] }) });
 */
export function defineHooks(hooks: Hooks): Hooks {
  return hooks;
}
