// The orchestration pipeline after a verified identity, outside any HTTP framework: the upstream's
// email-domain rule, the account record, loadAttrs, the declarative rules, then isAuthorized.
// Brokered sign-in, token exchange and passthrough run it as it is; the caller turns a refusal into
// its own error (a denial page, invalid_grant).
import type { RuleConfig } from '../config/schema.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
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
  /** What hooks see of the upstream sign-in. */
  readonly parts?: HookCallParts;
}

export type PipelineOutcome =
  | { readonly allowed: true; readonly attrs: Readonly<Record<string, unknown>> }
  | { readonly allowed: false; readonly by: 'emailDomains' | 'rules' | 'isAuthorized'; readonly reason: string };

const NOT_ALLOWED = 'this account is not allowed to use this application';

/** Rejects with a HookError when a hook fails; refusals are outcomes, not errors. */
export async function authorizeUser(deps: { readonly store: Store; readonly hooks: HookPoints }, request: PipelineRequest): Promise<PipelineOutcome> {
  const { store, hooks } = deps;
  const { user, hookKey } = request;
  if (request.emailDomains) {
    const email = typeof user.claims.email === 'string' ? user.claims.email.toLowerCase() : '';
    const domain = email.slice(email.lastIndexOf('@') + 1);
    if (user.claims.email_verified !== true || !email.includes('@') || !request.emailDomains.includes(domain)) {
      return { allowed: false, by: 'emailDomains', reason: 'this account may not sign in through this upstream' };
    }
  }
  const now = Math.floor(Date.now() / 1000);
  const record = (attrs?: Record<string, unknown>): AccountRecord => ({ claims: user.claims, upstream: user.upstream, upstreamSubject: user.upstreamSubject, updatedAt: now, ...(attrs ? { attrs } : {}) });
  if (request.signIn) await store.putRecord<AccountRecord>(ACCOUNT_KIND, user.accountId, record());

  const base = {
    client: request.client, flow: request.flow ?? 'token', scopes: [...request.scopes], params: { ...request.params }, requestId: request.requestId,
    ...(request.grantType === undefined ? {} : { grantType: request.grantType }),
  };
  let attrs: Record<string, unknown> = { ...user.attrs };
  const hookUser = () => ({ sub: user.accountId, upstream: user.upstream, upstreamSubject: user.upstreamSubject, claims: user.claims, attrs });
  if (request.signIn && hooks.has(hookKey, 'loadAttrs')) {
    attrs = { ...(await hooks.run(hookKey, 'loadAttrs', { ...base, user: hookUser() }, request.parts)) };
    await store.putRecord<AccountRecord>(ACCOUNT_KIND, user.accountId, record(attrs));
  }
  const decision = evaluateRules(request.rules, { upstream: user.upstream, claims: { ...user.claims, ...attrs } });
  if (!decision.allowed) return { allowed: false, by: 'rules', reason: decision.reason };
  if (hooks.has(hookKey, 'isAuthorized')) {
    const verdict = await hooks.run(hookKey, 'isAuthorized', { ...base, user: hookUser() }, request.parts);
    if (!verdict.allow) return { allowed: false, by: 'isAuthorized', reason: safeDescription(verdict.reason ?? NOT_ALLOWED) };
  }
  return { allowed: true, attrs };
}
