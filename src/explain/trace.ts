// The decision trace: what one request asked, who the user was, each orchestration step in order
// (rules, hooks, authorizers, shadow authorizers) and the result, scope by scope and claim by claim.
// Stored per request id (the one in logs and X-Request-Id); read by `baton explain`, compared by
// `baton replay`, produced without HTTP by `baton preview`. Never holds a token, code or secret.
import type { HookFailureKind } from '../orchestration/hooks/runner.ts';
import type { HookName } from '../orchestration/hooks/types.ts';

/** Bumped when a stored trace can no longer be read by this code. */
export const TRACE_VERSION = 1;

/** Where the decision was made. */
export type TraceEndpoint = 'authorization' | 'token' | 'passthrough' | 'bff' | 'preview';

/** What the client asked for. */
export interface TraceRequest {
  readonly endpoint: TraceEndpoint;
  readonly clientId?: string;
  /** Token endpoint: the grant type (absent at the authorization endpoint). */
  readonly grantType?: string;
  /** RFC 8707 resources, in request order. */
  readonly resources: readonly string[];
  /** Scopes asked, in request order. */
  readonly scopes: readonly string[];
  /** RFC 8693: the subject and actor token types (never the tokens). */
  readonly subjectTokenType?: string;
  readonly actorTokenType?: string;
}

/** The identity the decision was made for: enough to run it again (`baton replay`). */
export interface TraceIdentity {
  /** Baton's `sub` (or the client id for client_credentials). */
  readonly sub: string;
  readonly upstream?: string;
  readonly upstreamSubject?: string;
  /** Mapped claims; values of `explain.redactClaims` are replaced by a `Redacted`. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Attributes after loadAttrs (redacted the same way). */
  readonly attrs?: Readonly<Record<string, unknown>>;
  /** How the user signed in upstream (what authorizers are told). */
  readonly acr?: string;
  readonly amr?: readonly string[];
  readonly authTime?: number;
}

/** A redacted value: its name is kept, its value is not; the digest lets replay see a change without the value. */
export interface Redacted {
  readonly redacted: true;
  /** First 16 base64url characters of SHA-256 over the JSON value, keyed per deployment. */
  readonly digest: string;
}

/** One orchestration step, in the order it ran. */
export type TraceStep =
  /** A built-in check before the rules: the client's upstream allow-list, the upstream's email domains. */
  | { readonly kind: 'check'; readonly check: 'upstreams' | 'emailDomains' | 'grant'; readonly outcome: 'passed' | 'refused'; readonly reason?: string }
  /** The declarative rules: which one matched (index into clients[].rules), or none. */
  | { readonly kind: 'rules'; readonly effect: 'allow' | 'deny' | 'no-match' | 'none-configured'; readonly rule?: number; readonly reason?: string }
  /** One hook call: a summary of its input (names and sizes, never api.upstream tokens), its checked output. */
  | {
    readonly kind: 'hook'; readonly hook: HookName; readonly module: string; readonly latencyMs: number;
    readonly outcome: 'ran' | 'failed'; readonly failure?: HookFailureKind;
    readonly input: Readonly<Record<string, unknown>>; readonly output?: unknown; readonly droppedClaims?: readonly string[];
  }
  /** One authorizer's part of the fan-out (enforced or shadow). */
  | {
    readonly kind: 'authorizer'; readonly authorizer: string; readonly shadow: boolean; readonly resource?: string;
    readonly requested: readonly string[]; readonly granted: readonly string[];
    readonly outcome: 'granted' | 'denied' | 'failed' | 'ignored'; readonly cached: boolean; readonly latencyMs: number;
    readonly reason?: string; readonly claims?: readonly string[];
    /** Shadow only: scopes where it would have decided otherwise than the enforced outcome. */
    readonly disagreements?: readonly string[];
  };

/** Who decided a scope or set a claim. */
export type TraceActor =
  | 'request' | 'client' | 'resource' | 'rules' | 'upstream' | 'baton'
  | `hook:${HookName}` | `authorizer:${string}`;

export interface ScopeVerdict {
  readonly scope: string;
  /** The resource the scope was decided for (absent for OpenID scopes). */
  readonly resource?: string;
  readonly granted: boolean;
  readonly by: TraceActor;
  readonly reason?: string;
}

/**
 * Claims listed in a trace without their value: they differ for every token (or are derived from
 * one), so they say nothing about the decision and replay never compares them. Every other claim
 * of an issued token is listed with its value (redacted per `explain.redactClaims`).
 */
export const PER_TOKEN_CLAIMS: ReadonlySet<string> = new Set(['jti', 'iat', 'exp', 'nbf', 'auth_time', 'nonce', 'sid', 'at_hash', 'c_hash', 's_hash', 'urn:openid:params:jwt:claim:rt_hash', 'urn:openid:params:jwt:claim:auth_req_id']);

/** One claim of one issued token (every claim of the token is listed, Baton's own included). */
export interface ClaimOrigin {
  readonly token: 'id_token' | 'access_token' | 'userinfo';
  /** The access token's resource. */
  readonly resource?: string;
  readonly claim: string;
  readonly by: TraceActor;
  /** Absent for PER_TOKEN_CLAIMS; a `Redacted` for `explain.redactClaims`. */
  readonly value?: unknown;
}

export interface TraceResult {
  readonly outcome: 'issued' | 'refused';
  /** The RFC error the client received (refused). */
  readonly error?: string;
  readonly description?: string;
  /** Which step refused. */
  readonly refusedBy?: TraceActor;
  readonly scopes: readonly ScopeVerdict[];
  readonly claims: readonly ClaimOrigin[];
}

export interface DecisionTrace {
  readonly v: typeof TRACE_VERSION;
  readonly requestId: string;
  /** Epoch milliseconds when the request arrived. */
  readonly at: number;
  readonly request: TraceRequest;
  readonly identity?: TraceIdentity;
  readonly steps: readonly TraceStep[];
  readonly result: TraceResult;
}

/** Record kind of stored traces (Store.putRecord with the configured TTL), keyed by request id. */
export const TRACE_KIND = 'decision-trace';
/** Records holding the trace that several identical decisions share (explain/store.ts). */
export const TRACE_BODY_KIND = 'decision-trace-body';
