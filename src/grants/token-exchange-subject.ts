// Who the exchanged token is for (RFC 8693 section 1.1: impersonation) and who acts (section 1.1:
// delegation, section 4.1 `act`, section 4.4 `may_act`), then the orchestration a sign-in gets:
// the account record, loadAttrs, the client's rules, isAuthorized. A party is an issuer and a
// subject together (section 4.4): a bare `sub` belongs to the issuer of the token it is in.
import type { JWTPayload } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { BatonConfig } from '../config/schema.ts';
import { TOKEN_EXCHANGE } from '../config/schema.ts';
import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { HookPoints } from '../orchestration/hook-points.ts';
import { authorizeUser, storedIssuer, storedUpstream, type PipelineUser } from '../orchestration/pipeline.ts';
import { ACCOUNT_KIND, accountIdFor, issuerAccountId, type AccountRecord } from '../provider/accounts.ts';
import type { Store } from '../storage/store.ts';
import type { Connector } from '../upstream/connector.ts';
import type { Upstreams } from '../upstream/index.ts';
import type { VerifiedAccessToken, VerifiedUpstreamToken } from './token-exchange-tokens.ts';

/** Section 4.1: the current actor, and the chain of prior ones. Without `iss`: one of Baton's own subjects. */
export interface Act {
  readonly sub: string;
  readonly iss?: string;
  readonly act?: Act;
}

/** Section 4.4: who a party is. Two parties are the same only when both issuer and subject are. */
export interface Party {
  readonly iss: string;
  readonly sub: string;
}

/** The user (Baton's `sub`, upstream identity, claims, stored attributes), as the pipeline takes it. */
export interface ExchangeSubject extends PipelineUser {
  /** The delegation chain the subject token already carries (`iss` set for every non-Baton actor). */
  readonly act?: Act;
  /** Section 4.4 `may_act` of the subject token, its `iss` filled in; null when malformed (nobody matches). */
  readonly mayAct?: Party | null;
  /** The Baton grant the subject token belongs to (a Baton access token from a sign-in or an exchange). */
  readonly grantId?: string;
  /** Baton's subjects only: the scopes the subject token carries (section 1.1 downscoping). */
  readonly scopes?: readonly string[];
  /** Written before the rules run (upstream id_tokens and trusted JWTs; Baton's own subjects exist already). */
  readonly writeAccount: boolean;
}

const MAX_ACT_DEPTH = 8;
/** Claims of a trusted issuer's JWT kept on the account (what rules and authorizers look at). */
const TRUSTED_CLAIMS = ['email', 'email_verified', 'name', 'given_name', 'family_name', 'preferred_username'];

// Objects built per exchange name their members one by one: a spread after other members takes V8's
// slow path (no object-literal clone), and Object.assign would run the setter of a `__proto__` member.

export function fromUpstream(token: VerifiedUpstreamToken): ExchangeSubject {
  const subject: Mutable<ExchangeSubject> = {
    accountId: accountIdFor(token.upstream, token.subject),
    upstream: token.upstream,
    upstreamSubject: token.subject,
    claims: token.claims,
    writeAccount: true,
  };
  const mayAct = mayActOf(token.payload, String(token.payload.iss));
  if (mayAct !== undefined) subject.mayAct = mayAct;
  return subject;
}

export async function fromBaton({ payload, grantId }: VerifiedAccessToken, store: Store, issuer: string): Promise<ExchangeSubject> {
  if (payload.sub === payload.client_id) throw new errors.InvalidRequest('subject_token was issued to a client, not for a user');
  const account = (await store.getRecord<AccountRecord>(ACCOUNT_KIND, payload.sub))?.value;
  const subject: Mutable<ExchangeSubject> = {
    accountId: payload.sub,
    upstream: account?.upstream,
    upstreamSubject: account?.upstreamSubject,
    claims: account?.claims ?? {},
    attrs: account?.attrs,
    act: actOf(payload.act, issuer, issuer),
    grantId,
    scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
    writeAccount: false,
  };
  const mayAct = mayActOf(payload, issuer);
  if (mayAct !== undefined) subject.mayAct = mayAct;
  return subject;
}

/** A trusted issuer's subject is namespaced by the issuer (provider/accounts.ts); so are its actors. */
export function fromTrusted(payload: JWTPayload & { iss: string; sub: string }, issuer: string): ExchangeSubject {
  const claims: Record<string, unknown> = {};
  for (const claim of TRUSTED_CLAIMS) {
    const value = payload[claim];
    if (typeof value === 'string' || typeof value === 'boolean') claims[claim] = value;
  }
  const subject: Mutable<ExchangeSubject> = { accountId: issuerAccountId(payload.iss, payload.sub), claims, act: actOf(payload.act, payload.iss, issuer), writeAccount: true };
  const mayAct = mayActOf(payload, payload.iss);
  if (mayAct !== undefined) subject.mayAct = mayAct;
  return subject;
}

/**
 * Section 4.4: with `may_act` in the subject token, the actor (the actor token's issuer and
 * subject, or the calling client when there is none) must be the party it names. Section 4.1: the
 * result's `act` is the actor, with the subject token's chain nested under it; without an actor
 * the chain is kept. `issuer` is Baton's: its own parties are written without `iss`.
 */
export function delegation(subject: ExchangeSubject, actor: Party | undefined, clientId: string, issuer: string): Act | undefined {
  if (subject.mayAct !== undefined) {
    const who = actor ?? { sub: clientId, iss: issuer };
    const named = subject.mayAct;
    if (!named || named.sub !== who.sub || named.iss !== who.iss) throw new errors.InvalidRequest('the actor is not allowed to act for this subject (may_act)');
  }
  if (!actor) return subject.act;
  if (depth(subject.act) >= MAX_ACT_DEPTH) throw new errors.InvalidRequest('the delegation chain is too long');
  return party(actor.sub, actor.iss, issuer, subject.act);
}

/** An `act` entry: `iss` only when it is not Baton, `act` only when there is a prior actor. */
function party(sub: string, iss: string, issuer: string, act: Act | undefined): Act {
  const entry: { sub: string; iss?: string; act?: Act } = { sub };
  if (iss !== issuer) entry.iss = iss;
  if (act) entry.act = act;
  return entry;
}

/**
 * Section 4.4: `may_act` names a party; a bare `sub` is one of the issuer of the token that carries
 * it. Undefined without `may_act`; null when it is malformed (nobody matches).
 */
function mayActOf(payload: JWTPayload, tokenIssuer: string): Party | null | undefined {
  const value = payload.may_act;
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) return null;
  const { sub, iss } = value as { sub?: unknown; iss?: unknown };
  if (typeof sub !== 'string' || (iss !== undefined && typeof iss !== 'string')) return null;
  return { sub, iss: iss ?? tokenIssuer };
}

export interface PipelineDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly hooks: HookPoints;
  readonly logger: Logger;
  readonly events: Events;
  /** The configured upstreams: a Baton token's account is held to its upstream as configured now. */
  readonly upstreams: Upstreams;
}

/**
 * What a sign-in gets before a token is minted: the account record (upstream id_token, trusted
 * JWT), the client's upstream allow-list, the email-domain rule of the upstream, loadAttrs, the
 * client's rules, then isAuthorized.
 * A refusal is invalid_request with the reason (RFC 8693 section 2.2.2: the subject token is
 * unacceptable by policy); a failing hook is a server_error, as elsewhere.
 */
export async function authorizeSubject(ctx: KoaContextWithOIDC, deps: PipelineDeps, subject: ExchangeSubject, clientId: string, connector?: Connector): Promise<void> {
  const { config, store, hooks, logger, events } = deps;
  const { clients, trustedIssuers } = lookups(config);
  const client = clients.get(clientId);
  // An upstream id_token names its (configured) upstream; a Baton access token's account signed in
  // earlier, and its upstream may have been removed or changed since.
  const upstream = connector ? { emailDomains: connector.emailDomains } : storedUpstream(subject.upstream, (id) => deps.upstreams.get(id));
  // A Baton access token of a trusted issuer's subject: that issuer must still be trusted.
  const issuer = storedIssuer(subject.accountId, (iss) => trustedIssuers.has(iss));
  const outcome = await authorizeUser({ store, hooks }, {
    hookKey: clientId,
    client: { id: clientId, name: client?.client_name },
    rules: client?.rules,
    grantType: TOKEN_EXCHANGE,
    scopes: typeof ctx.oidc.params?.scope === 'string' ? ctx.oidc.params.scope.split(' ').filter(Boolean) : [],
    requestId: String(ctx.state?.requestId ?? ''),
    user: subject,
    signIn: subject.writeAccount,
    // The client's upstream allow-list holds for every way a user reaches it, exchange included: a
    // subject of another upstream, or of a trusted issuer (no upstream), is refused by a client that has one.
    allowedUpstreams: client?.upstreams,
    emailDomains: upstream.emailDomains,
    upstreamRemoved: upstream.upstreamRemoved === true || issuer.upstreamRemoved === true,
  });
  if (!outcome.allowed) {
    // Section 2.2.2: a subject token unacceptable by policy is invalid_request.
    logger.info({ event: 'authorization.denied', reqId: ctx.state?.requestId, sub: subject.accountId, clientId, by: outcome.by, at: 'token-exchange' }, 'token exchange denied');
    events.emit('authorization.denied', { reqId: ctx.state?.requestId, sub: subject.accountId, clientId, by: outcome.by, at: 'token-exchange' });
    throw new errors.InvalidRequest(outcome.reason);
  }
}

type ClientConfig = BatonConfig['clients'][number];
const byConfig = new WeakMap<BatonConfig, { clients: ReadonlyMap<string, ClientConfig>; trustedIssuers: ReadonlySet<string> }>();

/** Clients by id and trusted issuers of a (frozen, per provider) configuration: a lookup per exchange, not a scan (issue 16, growth). */
function lookups(config: BatonConfig): { clients: ReadonlyMap<string, ClientConfig>; trustedIssuers: ReadonlySet<string> } {
  let found = byConfig.get(config);
  if (!found) {
    // First client of an id wins, as Array.find did.
    const clients = new Map<string, ClientConfig>();
    for (const client of config.clients) if (!clients.has(client.client_id)) clients.set(client.client_id, client);
    found = { clients, trustedIssuers: new Set(config.tokenExchange.trustedIssuers.map((trusted) => trusted.issuer)) };
    byConfig.set(config, found);
  }
  return found;
}

/**
 * The `act` chain of a token from `tokenIssuer`: an entry without `iss` is that issuer's subject,
 * so it gets `iss` unless the issuer is Baton (`issuer`), whose own subjects are written without.
 * Another issuer's token may not name one of Baton's parties as an actor: written without `iss`,
 * that entry would read as an actor Baton verified (its own client acting), which only Baton can say.
 */
function actOf(value: unknown, tokenIssuer: string, issuer: string, level = 0): Act | undefined {
  if (typeof value !== 'object' || value === null || level > MAX_ACT_DEPTH) return undefined;
  const { sub, iss, act } = value as { sub?: unknown; iss?: unknown; act?: unknown };
  if (typeof sub !== 'string') return undefined;
  if (tokenIssuer !== issuer && iss === issuer) throw new errors.InvalidRequest('the subject token names an actor of this server in its act claim, which only this server can vouch for');
  return party(sub, typeof iss === 'string' ? iss : tokenIssuer, issuer, actOf(act, tokenIssuer, issuer, level + 1));
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function depth(act: Act | undefined): number {
  return act ? 1 + depth(act.act) : 0;
}
