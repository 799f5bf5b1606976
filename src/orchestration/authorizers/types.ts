// The authorizer fan-out's public types: what Baton asks (DecisionRequest), what it gets back
// (FanoutResult) and how each authorizer's part is traced (AuthorizerTrace).

/** One token issuance that needs a decision from the authorizers whose namespaces it touches. */
export interface DecisionRequest {
  /** Baton `sub` (the user), or the client id for client_credentials. */
  subject: string;
  clientId: string;
  /** 'authorization_code' | 'refresh_token' | 'client_credentials' | token exchange / device URNs. */
  grantType: string;
  /** The RFC 8707 resource the token is for. */
  resource?: string;
  /** All requested scopes; each authorizer is sent only those of its namespace. */
  scopes: readonly string[];
  /** How the user signed in upstream (absent for client_credentials). */
  upstream?: { idp: string; acr?: string; amr?: readonly string[]; authTime?: number };
  /** Mapped user claims. */
  claims: Readonly<Record<string, unknown>>;
  /**
   * The request id for Baton's log lines, where the request context does not give it (passthrough);
   * never sent to an authorizer, never part of a cache key.
   */
  requestId?: string;
}

/** What one authorizer decided for one request; logged as event `authorizer.decision`. */
export interface AuthorizerTrace {
  authorizer: string;
  /** The requested scopes of its namespace (what it was asked about). */
  requested: string[];
  /** What it granted (always a subset of `requested`). */
  granted: string[];
  outcome: 'granted' | 'denied' | 'failed' | 'ignored';
  /** The decision came from the cache (no HTTP call). */
  cached: boolean;
  latencyMs: number;
  /** The authorizer's own reason (deny), or why the call failed. */
  reason?: string;
  /** Scopes it tried to grant but may not: outside its namespace, or not requested. */
  dropped?: string[];
}

/** The outcome of the fan-out for one request. */
export interface FanoutResult {
  /** Requested scopes outside every namespace, untouched, plus what authorizers granted, in request order. */
  scopes: string[];
  /** Claims to add to the access token, namespaced per authorizer (or top-level for `claimsNamespace: ''`). */
  claims: Record<string, unknown>;
  /** An authorizer failed under `onFailure: 'deny'`: the caller must refuse the whole request. */
  failed?: { authorizer: string; reason: string };
  traces: AuthorizerTrace[];
}

/** A successful (cacheable) answer, already checked against what was asked. Internal. */
export interface Decision {
  decision: 'grant' | 'deny';
  /** Subset of the requested scopes of the namespace, in request order. */
  granted: string[];
  /** Returned scopes that were not granted (outside the namespace or not requested). */
  dropped: string[];
  /** A JSON object; empty on deny. */
  claims: Record<string, unknown>;
  reason?: string;
}

/** A failed call (error status, network, timeout, invalid answer); `reason` is safe to log. */
export class AuthorizerFailure extends Error {
  constructor(readonly reason: string, options?: ErrorOptions) {
    super(reason, options);
    this.name = 'AuthorizerFailure';
  }
}
