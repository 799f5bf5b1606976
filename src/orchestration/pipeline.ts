// The orchestration pipeline after a verified identity, outside any HTTP framework: the account's
// upstream still configured, the client's upstream allow-list, the upstream's email-domain rule, the account record, loadAttrs, the
// declarative rules, then isAuthorized. Brokered sign-in, a reused Baton session, token exchange and
// passthrough run it as it is; the caller turns a refusal into its own error (a denial page,
// access_denied, invalid_grant).
import type { RuleConfig } from '../config/schema.ts';
import { currentTrace } from '../explain/trace-context.ts';
import { recordRefusal, recordRules } from '../explain/steps.ts';
import type { TraceActor } from '../explain/trace.ts';
import { merged } from '../lang/merged.ts';
import { ACCOUNT_KIND, trustedIssuerOf, type AccountRecord } from '../provider/accounts.ts';
import type { Store } from '../storage/store.ts';
import { safeDescription, type HookCallParts, type HookPoints } from './hook-points.ts';
import { evaluateRules } from './rules.ts';

export interface PipelineUser {
  /** Baton's `sub`. */
  readonly accountId: string;
  readonly upstream?: string;
  readonly upstreamSubject?: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** Attributes loadAttrs stored earlier (carried into rules and hooks). */
  readonly attrs?: Readonly<Record<string, unknown>>;
}

export interface PipelineRequest {
  /** Whose hook module runs: a client id, or a passthrough's hook key. */
  readonly hookKey: string;
  readonly client: { readonly id: string; readonly name?: string };
  readonly rules: readonly RuleConfig[] | undefined;
  /** Absent at the authorization endpoint (a sign-in, no grant yet). */
  readonly grantType?: string;
  /** Where the hooks run: `authorization` (brokered sign-in, with the request's parameters) or `token`. */
  readonly flow?: 'authorization' | 'token';
  readonly params?: Readonly<Record<string, string | undefined>>;
  readonly scopes: readonly string[];
  readonly requestId: string;
  readonly user: PipelineUser;
  /** A fresh identity: write the account record and run loadAttrs (not on refresh). */
  readonly signIn: boolean;
  /** Verified email domains the upstream accepts (undefined: any). */
  readonly emailDomains?: readonly string[];
  /**
   * The account's upstream (a stored account: refresh, session reuse, an exchanged Baton token) is
   * no longer configured: its rules (emailDomains) cannot be checked, so the account is refused.
   */
  readonly upstreamRemoved?: boolean;
  /** The client's `upstreams` allow-list (undefined: any); the user's upstream must be in it. */
  readonly allowedUpstreams?: readonly string[];
  /** What hooks see of the upstream sign-in. */
  readonly parts?: HookCallParts;
}

export type PipelineOutcome =
  | { readonly allowed: true; readonly attrs: Readonly<Record<string, unknown>> }
  | { readonly allowed: false; readonly by: 'upstreams' | 'emailDomains' | 'rules' | 'isAuthorized'; readonly reason: string };

const NOT_ALLOWED = 'this account is not allowed to use this application';

/** Who refused, in a trace's words: the client's allow-list, the upstream's domains, the rules, the hook. */
export function refusalActor(by: Extract<PipelineOutcome, { allowed: false }>['by']): TraceActor {
  return by === 'isAuthorized' ? 'hook:isAuthorized' : by === 'emailDomains' ? 'upstream' : by === 'upstreams' ? 'client' : 'rules';
}

/** Rejects with a HookError when a hook fails; refusals are outcomes, not errors. Recorded in the current trace. */
export function authorizeUser(deps: { readonly store: Store; readonly hooks: HookPoints }, request: PipelineRequest): Promise<PipelineOutcome> {
  const trace = currentTrace();
  // Untraced: the decision's own promise, not one more async frame resolving to it.
  return trace ? tracedDecision(trace, deps, request) : decideUser(deps, request);
}

async function tracedDecision(trace: NonNullable<ReturnType<typeof currentTrace>>, deps: { readonly store: Store; readonly hooks: HookPoints }, request: PipelineRequest): Promise<PipelineOutcome> {
  const { user } = request;
  trace.request({
    clientId: request.client.id, scopes: [...request.scopes],
    ...(request.grantType === undefined ? {} : { grantType: request.grantType }),
  });
  trace.identity({ sub: user.accountId, upstream: user.upstream, upstreamSubject: user.upstreamSubject, claims: user.claims, ...(user.attrs ? { attrs: user.attrs } : {}) });
  const outcome = await decideUser(deps, request);
  if (outcome.allowed) {
    if (Object.keys(outcome.attrs).length > 0) trace.identity({ sub: user.accountId, upstream: user.upstream, upstreamSubject: user.upstreamSubject, claims: user.claims, attrs: outcome.attrs });
  } else {
    const by = refusalActor(outcome.by);
    // What the callers answer: access_denied at sign-in, invalid_request for token exchange
    // (RFC 8693 section 2.2.2), invalid_grant elsewhere; the edge corrects it from the response.
    const error = request.flow === 'authorization' ? 'access_denied' : request.grantType === 'urn:ietf:params:oauth:grant-type:token-exchange' ? 'invalid_request' : 'invalid_grant';
    recordRefusal(error, outcome.reason, by);
  }
  return outcome;
}

/**
 * The upstream part of the decision for an account that signed in earlier, as the configuration
 * says now: that upstream's email domains, or, when it was removed, a refusal (fail closed).
 */
export function storedUpstream(upstream: string | undefined, configured: (id: string) => { readonly emailDomains?: readonly string[] } | undefined): Pick<PipelineRequest, 'emailDomains' | 'upstreamRemoved'> {
  if (upstream === undefined) return {};
  const current = configured(upstream);
  return current ? { emailDomains: current.emailDomains } : { upstreamRemoved: true };
}

/**
 * The same for an account a trusted issuer vouched for (token exchange, `~issuer/…` accounts): a
 * refusal when `stillTrusted` says that issuer no longer is (removed from
 * `tokenExchange.trustedIssuers`, or from what the client may exchange). Other accounts: nothing.
 */
export function storedIssuer(accountId: string, stillTrusted: (issuer: string) => boolean): Pick<PipelineRequest, 'upstreamRemoved'> {
  const issuer = trustedIssuerOf(accountId);
  return issuer === undefined || stillTrusted(issuer) ? {} : { upstreamRemoved: true };
}

async function decideUser(deps: { readonly store: Store; readonly hooks: HookPoints }, request: PipelineRequest): Promise<PipelineOutcome> {
  const { store, hooks } = deps;
  const { user, hookKey } = request;
  const trace = currentTrace();
  if (request.upstreamRemoved) {
    const reason = 'the identity provider of this account is no longer configured';
    trace?.step({ kind: 'check', check: 'upstreams', outcome: 'refused', reason });
    return { allowed: false, by: 'upstreams', reason };
  }
  if (request.allowedUpstreams && (user.upstream === undefined || !request.allowedUpstreams.includes(user.upstream))) {
    const reason = 'this application does not accept accounts of this identity provider';
    trace?.step({ kind: 'check', check: 'upstreams', outcome: 'refused', reason });
    return { allowed: false, by: 'upstreams', reason };
  }
  if (request.allowedUpstreams) trace?.step({ kind: 'check', check: 'upstreams', outcome: 'passed' });
  if (request.emailDomains) {
    const refusal = emailDomainRefusal(request.emailDomains, user.claims);
    trace?.step({ kind: 'check', check: 'emailDomains', outcome: refusal ? 'refused' : 'passed', ...(refusal ? { reason: refusal } : {}) });
    if (refusal) return { allowed: false, by: 'emailDomains', reason: refusal };
  }
  const now = Math.floor(Date.now() / 1000);
  const record = (attrs?: Record<string, unknown>): AccountRecord => {
    const written: { -readonly [K in keyof AccountRecord]: AccountRecord[K] } = { claims: user.claims, upstream: user.upstream, upstreamSubject: user.upstreamSubject, updatedAt: now };
    if (attrs) written.attrs = attrs;
    return written;
  };
  if (request.signIn) await store.putRecord<AccountRecord>(ACCOUNT_KIND, user.accountId, record());

  // What the hooks are called with: built only when one runs (most token requests have none).
  const call = () => ({
    client: request.client, flow: request.flow ?? 'token', scopes: [...request.scopes], params: { ...request.params }, requestId: request.requestId,
    ...(request.grantType === undefined ? {} : { grantType: request.grantType }),
    user: { sub: user.accountId, upstream: user.upstream, upstreamSubject: user.upstreamSubject, claims: user.claims, attrs },
  });
  let attrs: Record<string, unknown> = { ...user.attrs };
  if (request.signIn && hooks.has(hookKey, 'loadAttrs')) {
    attrs = { ...(await hooks.run(hookKey, 'loadAttrs', call(), request.parts)) };
    await store.putRecord<AccountRecord>(ACCOUNT_KIND, user.accountId, record(attrs));
  }
  const decision = evaluateRules(request.rules, { upstream: user.upstream, claims: merged(user.claims, attrs) });
  recordRules(request.rules, decision);
  if (!decision.allowed) return { allowed: false, by: 'rules', reason: decision.reason };
  if (hooks.has(hookKey, 'isAuthorized')) {
    const verdict = await hooks.run(hookKey, 'isAuthorized', call(), request.parts);
    if (!verdict.allow) return { allowed: false, by: 'isAuthorized', reason: safeDescription(verdict.reason ?? NOT_ALLOWED) };
  }
  return { allowed: true, attrs };
}

/** With `emailDomains`, only a verified email in one of them passes. */
function emailDomainRefusal(domains: readonly string[], claims: Readonly<Record<string, unknown>>): string | undefined {
  const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : '';
  const at = email.lastIndexOf('@');
  const domain = at > 0 && at < email.length - 1 ? email.slice(at + 1) : undefined;
  if (claims.email_verified !== true || !domain) return 'a verified email address is required to sign in here';
  return domains.includes(domain) ? undefined : `accounts of ${domain} cannot sign in here`;
}
