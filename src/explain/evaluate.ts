// One token request decided offline, with the functions the token endpoint decides it with: the
// pipeline (allow-list, email domains, loadAttrs, rules, isAuthorized), the client's resources, the
// authorizer fan-out, the claim hooks and oidc-provider's scope claims. Runs inside a TraceRecorder,
// so its trace compares with a recorded one (`baton replay`); what it would issue is returned too.
import { randomUUID } from 'node:crypto';

import { clientConfig } from '../config/clients.ts';
import { merged } from '../lang/merged.ts';
import { STATIC_SCOPES } from '../provider/claims.ts';
import { ACCOUNT_KIND, accountIdFor, type AccountRecord } from '../provider/accounts.ts';
import { scopesOutside } from '../provider/resources.ts';
import { authorizeUser, refusalActor, storedIssuer, storedUpstream } from '../orchestration/pipeline.ts';
import { HookError } from '../orchestration/hooks/index.ts';
import { TraceRecorder } from './recorder.ts';
import { withTrace } from './trace-context.ts';
import type { DecisionTrace, ScopeVerdict, TraceActor, TraceIdentity } from './trace.ts';
import type { Evaluator } from './evaluator.ts';
import { accessTokenFor, idTokenFor } from './issue.ts';
import { recordToken } from './origins.ts';
import type { Claims } from './offline-claims.ts';

/** The grants an evaluation can run (token exchange and device code are not previewed). */
export const EVALUATED_GRANTS = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type EvaluatedGrant = typeof EVALUATED_GRANTS[number];

export interface EvaluationRequest {
  readonly clientId: string;
  readonly grantType: EvaluatedGrant;
  /** In request order. */
  readonly scopes: readonly string[];
  /** RFC 8707 resources; client_credentials without one uses the client's only resource. */
  readonly resources: readonly string[];
  /** The user (absent for client_credentials). `sub` defaults to `{upstream}:{upstreamSubject}`. */
  readonly identity?: Omit<TraceIdentity, 'sub'> & { readonly sub?: string };
  /** Kept as the trace's request id (replay keeps the recorded one). */
  readonly requestId?: string;
}

export interface Evaluation {
  readonly trace: DecisionTrace;
  /** What would be issued (nothing when refused). */
  readonly idToken?: Claims;
  readonly accessTokens: ReadonlyArray<{ readonly resource: string; readonly claims: Claims }>;
}

/** A request the configuration refuses: the RFC error the client would receive, and who refused. */
class Refusal extends Error {
  constructor(readonly error: string, readonly description: string, readonly by: TraceActor) {
    super(description);
  }
}

/** A request that names what the configuration does not have (a client, a resource): a usage error, not a decision. */
export class EvaluationInputError extends Error {
  override readonly name = 'EvaluationInputError';
}

export async function evaluate(evaluator: Evaluator, request: EvaluationRequest): Promise<Evaluation> {
  const recorder = new TraceRecorder(request.requestId ?? `preview-${randomUUID()}`, evaluator.clock());
  const issued: { idToken?: Claims; accessTokens: Array<{ resource: string; claims: Claims }> } = { accessTokens: [] };
  await withTrace(recorder, async () => {
    try {
      await decide(evaluator, request, recorder, issued);
    } catch (err) {
      if (err instanceof Refusal) recorder.refuse(err.error, err.description, err.by);
      else if (err instanceof HookError) recorder.refuse('server_error', `the ${err.hook} hook failed (${err.kind})`, `hook:${err.hook}`);
      else throw err;
    }
  });
  const trace = recorder.toTrace();
  if (trace.result.outcome === 'refused') return { trace, accessTokens: [] };
  return { trace, ...(issued.idToken ? { idToken: issued.idToken } : {}), accessTokens: issued.accessTokens };
}

async function decide(evaluator: Evaluator, request: EvaluationRequest, recorder: TraceRecorder, issued: { idToken?: Claims; accessTokens: Array<{ resource: string; claims: Claims }> }): Promise<void> {
  const { config, resources: policy } = evaluator;
  const client = clientConfig(config, request.clientId);
  if (!client) throw new EvaluationInputError(`no client ${request.clientId} in this configuration`);
  const clientCredentials = request.grantType === 'client_credentials';
  const sole = clientCredentials && request.resources.length === 0 ? policy.soleResource(client.client_id) : undefined;
  const resources = sole ? [sole] : [...request.resources];
  recorder.request({ endpoint: 'token', clientId: client.client_id, grantType: request.grantType, resources, scopes: [...request.scopes] });

  if (!client.grant_types.includes(request.grantType)) {
    recorder.step({ kind: 'check', check: 'grant', outcome: 'refused', reason: `${request.grantType} is not allowed for this client` });
    throw new Refusal('unauthorized_client', `the client is not allowed the ${request.grantType} grant`, 'client');
  }
  for (const resource of resources) {
    if (!config.resources.some((r) => r.id === resource)) throw new Refusal('invalid_target', 'resource is unknown', 'resource');
    if (!policy.allowedScopes(client.client_id, resource)) throw new Refusal('invalid_target', 'resource is not allowed for this client', 'client');
  }

  let account: AccountRecord | undefined;
  let sub: string;
  if (clientCredentials) {
    sub = client.client_id;
    if (resources.length === 0 && request.scopes.length > 0) throw new Refusal('invalid_scope', 'requested scope is not allowed', 'client');
    for (const resource of resources) {
      const refused = scopesOutside(request.scopes, policy.allowedScopes(client.client_id, resource) ?? []);
      if (refused.length > 0) throw new Refusal('invalid_scope', `requested scope is not allowed: ${refused.join(' ')}`, 'client');
    }
    recorder.identity({ sub, claims: {} });
  } else {
    const identity = request.identity;
    if (!identity) throw new EvaluationInputError(`${request.grantType} needs a user (claims or an id_token)`);
    sub = identity.sub ?? (identity.upstream && identity.upstreamSubject ? accountIdFor(identity.upstream, identity.upstreamSubject) : '');
    if (!sub) throw new EvaluationInputError('the user needs a sub, or an upstream and upstream subject');
    // Recorded first: a refused user's inputs are what a replay needs most.
    recorder.identity(merged(identity, { sub }));
    account = await authorizeIdentity(evaluator, request, client, sub, identity, recorder.requestId);
    recorder.identity(merged(identity, { sub, ...(account.attrs && Object.keys(account.attrs).length > 0 ? { attrs: account.attrs } : {}) }));
  }

  const oidcScopes = clientCredentials ? [] : request.scopes.filter((s) => STATIC_SCOPES.includes(s) && (client.scopes as readonly string[]).includes(s));
  for (const scope of oidcScopes) recorder.scope({ scope, granted: true, by: 'request' });
  const verdicts: ScopeVerdict[] = [];
  for (const resource of resources) {
    const token = await accessTokenFor(evaluator, { client, resource, grantType: request.grantType, scopes: request.scopes, sub: clientCredentials ? undefined : sub, account, identity: request.identity, requestId: recorder.requestId });
    if ('failed' in token) throw new Refusal('temporarily_unavailable', `the authorizer ${token.failed} could not decide; try again later`, `authorizer:${token.failed}`);
    for (const verdict of token.verdicts) recorder.scope(verdict);
    verdicts.push(...token.verdicts);
    recordToken(recorder, 'access_token', token.built, resource);
    issued.accessTokens.push({ resource, claims: token.built.claims });
  }
  // A scope neither OpenID (for this client) nor allowed at any requested resource is not in any token.
  const decided = new Set([...oidcScopes, ...verdicts.map((v) => v.scope)]);
  for (const scope of new Set(request.scopes)) {
    if (!decided.has(scope)) recorder.scope({ scope, granted: false, by: 'client', reason: 'not allowed for this client at the requested resources' });
  }
  if (!clientCredentials && oidcScopes.includes('openid')) {
    const idToken = await idTokenFor(evaluator, { client, grantType: request.grantType, scopes: oidcScopes, sub, account: account!, identity: request.identity!, requestId: recorder.requestId });
    recordToken(recorder, 'id_token', idToken);
    issued.idToken = idToken.claims;
  }
}

/**
 * The user's part: at sign-in (authorization_code) the whole pipeline, writing the account record
 * into the evaluation's own store as the sign-in would; on refresh the client's whole decision
 * again (allow-list, the upstream as configured now, email domains, rules, isAuthorized) on the
 * account's claims and the attributes loadAttrs stored, without loadAttrs: exactly what
 * provider/token-claims.ts does, so a refresh the candidate would refuse shows as a refusal.
 */
async function authorizeIdentity(evaluator: Evaluator, request: EvaluationRequest, client: Evaluator['config']['clients'][number], sub: string, identity: NonNullable<EvaluationRequest['identity']>, requestId: string): Promise<AccountRecord> {
  const { store, hooks } = evaluator;
  const base: AccountRecord = { claims: identity.claims, ...(identity.upstream ? { upstream: identity.upstream } : {}), ...(identity.upstreamSubject ? { upstreamSubject: identity.upstreamSubject } : {}), updatedAt: Math.floor(evaluator.clock() / 1000) };
  if (request.grantType === 'refresh_token') {
    const stored: AccountRecord = merged(base, identity.attrs ? { attrs: identity.attrs } : {});
    await store.putRecord<AccountRecord>(ACCOUNT_KIND, sub, stored);
    const outcome = await authorizeUser({ store, hooks }, {
      hookKey: client.client_id,
      client: { id: client.client_id, name: client.client_name },
      rules: client.rules,
      grantType: 'refresh_token',
      scopes: [...request.scopes],
      requestId,
      user: { accountId: sub, upstream: stored.upstream, upstreamSubject: stored.upstreamSubject, claims: stored.claims, attrs: stored.attrs ?? {} },
      signIn: false,
      allowedUpstreams: client.upstreams,
      ...storedUpstream(stored.upstream, (id) => evaluator.upstreams.get(id)),
      ...storedIssuer(sub, (issuer) => evaluator.config.tokenExchange.trustedIssuers.some((t) => t.issuer === issuer) && (client.tokenExchange?.issuers ?? []).includes(issuer)),
    });
    // The token endpoint answers a refused refresh invalid_grant (and ends the grant).
    if (!outcome.allowed) throw new Refusal('invalid_grant', outcome.reason, refusalActor(outcome.by));
    return stored;
  }
  const outcome = await authorizeUser({ store, hooks }, {
    hookKey: client.client_id,
    client: { id: client.client_id, name: client.client_name },
    rules: client.rules,
    flow: 'authorization',
    params: {},
    scopes: [...request.scopes],
    requestId,
    user: { accountId: sub, upstream: identity.upstream, upstreamSubject: identity.upstreamSubject, claims: identity.claims, ...(identity.attrs ? { attrs: identity.attrs } : {}) },
    signIn: true,
    allowedUpstreams: client.upstreams,
    // An upstream the configuration does not have: no sign-in could start there; refused (fail closed).
    ...storedUpstream(identity.upstream, (id) => evaluator.upstreams.get(id)),
    ...(identity.upstream ? { parts: { upstream: { id: identity.upstream, claims: identity.claims, tokens: {} } } } : {}),
  });
  if (!outcome.allowed) {
    const by = refusalActor(outcome.by);
    throw new Refusal('access_denied', outcome.reason, by);
  }
  return (await store.getRecord<AccountRecord>(ACCOUNT_KIND, sub))?.value ?? base;
}
