// Who the exchanged token is for (RFC 8693 section 1.1: impersonation) and who acts (section 1.1:
// delegation, section 4.1 `act`, section 4.4 `may_act`), then the orchestration a sign-in gets:
// the account record, loadAttrs, the client's rules, isAuthorized.
import type { JWTPayload } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { BatonConfig } from '../config/schema.ts';
import { TOKEN_EXCHANGE } from '../config/schema.ts';
import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { HookPoints } from '../orchestration/hook-points.ts';
import { authorizeUser, type PipelineUser } from '../orchestration/pipeline.ts';
import { ACCOUNT_KIND, accountIdFor, type AccountRecord } from '../provider/accounts.ts';
import type { Store } from '../storage/store.ts';
import type { Connector } from '../upstream/connector.ts';
import type { VerifiedUpstreamToken } from './token-exchange-tokens.ts';

/** Section 4.1: the current actor, and the chain of prior ones. */
export interface Act {
  readonly sub: string;
  readonly iss?: string;
  readonly act?: Act;
}

/** The user (Baton's `sub`, upstream identity, claims, stored attributes), as the pipeline takes it. */
export interface ExchangeSubject extends PipelineUser {
  /** The delegation chain the subject token already carries. */
  readonly act?: Act;
  readonly mayAct?: unknown;
  /** Written before the rules run (upstream id_tokens and trusted JWTs; Baton's own subjects exist already). */
  readonly writeAccount: boolean;
}

const MAX_ACT_DEPTH = 8;
/** Claims of a trusted issuer's JWT kept on the account (what rules and authorizers look at). */
const TRUSTED_CLAIMS = ['email', 'email_verified', 'name', 'given_name', 'family_name', 'preferred_username'];

export function fromUpstream(token: VerifiedUpstreamToken): ExchangeSubject {
  return {
    accountId: accountIdFor(token.upstream, token.subject),
    upstream: token.upstream,
    upstreamSubject: token.subject,
    claims: token.claims,
    mayAct: token.payload.may_act,
    writeAccount: true,
  };
}

export async function fromBaton(payload: JWTPayload, store: Store): Promise<ExchangeSubject> {
  if (typeof payload.sub !== 'string' || payload.sub === payload.client_id) throw new errors.InvalidGrant('subject_token was issued to a client, not for a user');
  const account = (await store.getRecord<AccountRecord>(ACCOUNT_KIND, payload.sub))?.value;
  return {
    accountId: payload.sub,
    upstream: account?.upstream,
    upstreamSubject: account?.upstreamSubject,
    claims: account?.claims ?? {},
    attrs: account?.attrs,
    act: actOf(payload.act),
    mayAct: payload.may_act,
    writeAccount: false,
  };
}

/** A trusted issuer's subject is namespaced by the issuer's host: `{host}:{sub}`. */
export function fromTrusted(payload: JWTPayload & { iss: string; sub: string }): ExchangeSubject {
  const claims = Object.fromEntries(TRUSTED_CLAIMS.filter((c) => ['string', 'boolean'].includes(typeof payload[c])).map((c) => [c, payload[c]]));
  return { accountId: `${new URL(payload.iss).host}:${payload.sub}`, claims, act: actOf(payload.act), mayAct: payload.may_act, writeAccount: true };
}

/**
 * Section 4.4: with `may_act` in the subject token, the actor (the actor token's subject, or the
 * calling client when there is none) must be the one it names. Section 4.1: the result's `act` is
 * the actor, with the subject token's chain nested under it; without an actor the chain is kept.
 */
export function delegation(subject: ExchangeSubject, actor: Act | undefined, clientId: string, issuer: string): Act | undefined {
  if (subject.mayAct !== undefined) {
    const allowed = subject.mayAct as { sub?: unknown; iss?: unknown } | null;
    const who = actor ?? { sub: clientId, iss: issuer };
    const matches = typeof allowed === 'object' && allowed !== null && allowed.sub === who.sub && (allowed.iss === undefined || allowed.iss === (who.iss ?? issuer));
    if (!matches) throw new errors.InvalidGrant('the actor is not allowed to act for this subject (may_act)');
  }
  if (!actor) return subject.act;
  if (depth(subject.act) >= MAX_ACT_DEPTH) throw new errors.InvalidGrant('the delegation chain is too long');
  return { ...actor, ...(subject.act ? { act: subject.act } : {}) };
}

export interface PipelineDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly hooks: HookPoints;
  readonly logger: Logger;
  readonly events: Events;
}

/**
 * What a sign-in gets before a token is minted: the account record (upstream id_token, trusted
 * JWT), the email-domain rule of the upstream, loadAttrs, the client's rules, then isAuthorized.
 * A refusal is invalid_grant with the reason; a failing hook is a server_error, as elsewhere.
 */
export async function authorizeSubject(ctx: KoaContextWithOIDC, deps: PipelineDeps, subject: ExchangeSubject, clientId: string, connector?: Connector): Promise<void> {
  const { config, store, hooks, logger, events } = deps;
  const client = config.clients.find((c) => c.client_id === clientId);
  const outcome = await authorizeUser({ store, hooks }, {
    hookKey: clientId,
    client: { id: clientId, name: client?.client_name },
    rules: client?.rules,
    grantType: TOKEN_EXCHANGE,
    scopes: typeof ctx.oidc.params?.scope === 'string' ? ctx.oidc.params.scope.split(' ').filter(Boolean) : [],
    requestId: String(ctx.state?.requestId ?? ''),
    user: subject,
    signIn: subject.writeAccount,
    emailDomains: connector?.emailDomains,
  });
  if (!outcome.allowed) {
    logger.info({ event: 'authorization.denied', reqId: ctx.state?.requestId, sub: subject.accountId, clientId, by: outcome.by, at: 'token-exchange' }, 'token exchange denied');
    events.emit('authorization.denied', { reqId: ctx.state?.requestId, sub: subject.accountId, clientId, by: outcome.by, at: 'token-exchange' });
    throw new errors.InvalidGrant(outcome.reason);
  }
}

function actOf(value: unknown, level = 0): Act | undefined {
  if (typeof value !== 'object' || value === null || level > MAX_ACT_DEPTH) return undefined;
  const { sub, iss, act } = value as { sub?: unknown; iss?: unknown; act?: unknown };
  if (typeof sub !== 'string') return undefined;
  const nested = actOf(act, level + 1);
  return { sub, ...(typeof iss === 'string' ? { iss } : {}), ...(nested ? { act: nested } : {}) };
}

function depth(act: Act | undefined): number {
  return act ? 1 + depth(act.act) : 0;
}
