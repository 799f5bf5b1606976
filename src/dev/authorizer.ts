// The demo authorizer: an HTTP service owning the `orders:` scopes (docs/authorizers.md). It
// verifies the JWT Baton signs for each request against Baton's JWKS (iss, aud = its id, fresh,
// and the body's subject and client_id equal the JWT's), then grants per its policy table.
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';

import { readBody, sendJson, type Handler } from './http.ts';

export interface DecisionRequest {
  readonly subject: string;
  readonly client_id: string;
  readonly grant_type: string;
  readonly scopes: readonly string[];
  readonly resource?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
}

export type Decision =
  | { readonly decision: 'grant'; readonly scopes: readonly string[]; readonly claims?: Readonly<Record<string, unknown>>; readonly reason?: string }
  | { readonly decision: 'deny'; readonly reason: string };

/** Who may do what in the orders namespace, by Baton subject (`{upstream id}:{upstream sub}`). */
export type OrdersPolicy = Readonly<Record<string, { readonly scopes: readonly string[]; readonly claims?: Readonly<Record<string, unknown>> }>>;

export const ORDERS_POLICY: OrdersPolicy = {
  'contoso:alice': { scopes: ['orders:read', 'orders:write'], claims: { team: 'purchasing', approval_limit: 5000 } },
  'contoso:bob': { scopes: ['orders:read'], claims: { team: 'sales' } },
};

/** The requested scopes of `namespace` the policy allows this subject; deny when none is. */
export function decide(request: DecisionRequest, policy: OrdersPolicy, namespace = 'orders:'): Decision {
  const entry = Object.hasOwn(policy, request.subject) ? policy[request.subject] : undefined;
  if (!entry) return { decision: 'deny', reason: `${request.subject} has no orders access` };
  const scopes = request.scopes.filter((scope) => scope.startsWith(namespace) && entry.scopes.includes(scope));
  if (scopes.length === 0) return { decision: 'deny', reason: 'none of the requested orders scopes is allowed' };
  return { decision: 'grant', scopes, ...(entry.claims ? { claims: entry.claims } : {}) };
}

export interface AuthorizerOptions {
  /** Baton's issuer: the JWT's `iss`. */
  readonly issuer: string;
  /** Its id in Baton's `authorizers`: the JWT's `aud`. */
  readonly id: string;
  readonly namespace: string;
  /** The policy, or where to read it at each decision (the demo's live policy). */
  readonly policy: OrdersPolicy | (() => OrdersPolicy);
  /** Baton's JWKS; `{issuer}/jwks` by default. */
  readonly jwks?: JWTVerifyGetKey;
  readonly onDecision?: (request: DecisionRequest, decision: Decision) => void;
  readonly onRefused?: (reason: string) => void;
}

export function demoAuthorizer(options: AuthorizerOptions): Handler {
  const jwks = options.jwks ?? createRemoteJWKSet(new URL(`${options.issuer}/jwks`));
  const refuse = (reason: string) => {
    options.onRefused?.(reason);
    return { error: 'invalid_token' };
  };
  return async (req, res) => {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' });
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(req.headers.authorization ?? '')?.[1];
    let jwt;
    try {
      if (!token) throw new Error('no bearer token');
      ({ payload: jwt } = await jwtVerify(token, jwks, {
        issuer: options.issuer, audience: options.id, maxTokenAge: '90s', clockTolerance: 5, requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (err) {
      return sendJson(res, 401, refuse((err as { code?: string }).code ?? (err as Error).message), { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    let request: DecisionRequest;
    try {
      request = JSON.parse(await readBody(req)) as DecisionRequest;
      if (typeof request.subject !== 'string' || !Array.isArray(request.scopes)) throw new Error('missing subject or scopes');
    } catch (err) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: (err as Error).message });
    }
    // The JWT vouches for the subject and the client: the body must be about the same ones.
    if (request.subject !== jwt.sub || request.client_id !== jwt.client_id) {
      return sendJson(res, 401, refuse('the body does not match the JWT'), { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    const decision = decide(request, typeof options.policy === 'function' ? options.policy() : options.policy, options.namespace);
    options.onDecision?.(request, decision);
    sendJson(res, 200, decision);
  };
}
