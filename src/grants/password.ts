// Resource owner password credentials (RFC 6749 section 4.3), as a legacy bridge only: registered
// when a client is configured for it, and answered only for clients with an
// `authenticateBackchannel` hook, which checks the credentials. Failed attempts are limited in the
// store, per client, username and client address, under a higher ceiling per client and username,
// and the same again per identity the hook names, so spellings it normalises share one limit.
// The subject is namespaced by the client (`~password/{client_id}:{sub}`). Rules and isAuthorized
// apply as after any sign-in.
import { clientConfig } from '../config/clients.ts';
import { currentTrace } from '../explain/trace-context.ts';
import { recordRefusal, recordRules } from '../explain/steps.ts';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';

import type { BatonConfig } from '../config/schema.ts';
import { merged } from '../lang/merged.ts';
import type { Logger } from '../observability/logger.ts';
import { safeDescription, type HookPoints } from '../orchestration/hook-points.ts';
import { evaluateRules } from '../orchestration/rules.ts';
import { ACCOUNT_KIND, accountFinder, passwordAccountId, type AccountRecord } from '../provider/accounts.ts';
import type { ResourcePolicy } from '../provider/resources.ts';
import { AttemptCounter } from '../storage/attempt-counter.ts';
import type { Store } from '../storage/store.ts';

/** Failures from one address before that address is locked out of the username. */
const MAX_FAILURES = 5;
/**
 * Failures from all addresses together before the username is locked for everyone: high enough
 * that one attacker cannot lock a user out, low enough to stop guessing spread over many addresses.
 */
const MAX_FAILURES_PER_USERNAME = 10 * MAX_FAILURES;
const FAILURE_WINDOW_MS = 15 * 60_000;

export interface PasswordGrantDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly hooks: HookPoints;
  readonly resources: ResourcePolicy;
  readonly logger: Logger;
}

interface FailureCounters {
  /** Attempts per (client, username, address) since the last success there; see passwordGrant. */
  readonly perAddress: AttemptCounter;
  /** Failures per (client, username) from every address. */
  readonly perUsername: AttemptCounter;
  /** Failures per (client, identity the hook named, address): what a variant spelling of the username cannot escape. */
  readonly perIdentityAddress: AttemptCounter;
  /** Failures per (client, identity the hook named) from every address. */
  readonly perIdentity: AttemptCounter;
}

export function registerPasswordGrant(provider: Provider, deps: PasswordGrantDeps): void {
  if (!deps.config.clients.some((c) => c.grant_types.includes('password'))) return;
  const counters: FailureCounters = {
    perAddress: new AttemptCounter({ store: deps.store, kind: 'attempts:password', windowMs: FAILURE_WINDOW_MS }),
    perUsername: new AttemptCounter({ store: deps.store, kind: 'attempts:password-username', windowMs: FAILURE_WINDOW_MS }),
    perIdentityAddress: new AttemptCounter({ store: deps.store, kind: 'attempts:password-identity', windowMs: FAILURE_WINDOW_MS }),
    perIdentity: new AttemptCounter({ store: deps.store, kind: 'attempts:password-identity-all', windowMs: FAILURE_WINDOW_MS }),
  };
  provider.registerGrantType('password', (ctx: KoaContextWithOIDC) => passwordGrant(ctx, deps, counters), ['username', 'password', 'scope', 'resource']);
}

async function passwordGrant(ctx: KoaContextWithOIDC, deps: PasswordGrantDeps, counters: FailureCounters): Promise<void> {
  const { client, params } = ctx.oidc;
  if (!client || !deps.hooks.has(client.clientId, 'authenticateBackchannel')) {
    throw new errors.UnauthorizedClient('the password grant needs an authenticateBackchannel hook for this client');
  }
  const username = params?.username;
  const password = params?.password;
  if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) throw new errors.InvalidRequest('username and password are required');

  // The per-address count is taken before the hook runs, so concurrent guesses from one address
  // cannot all pass the check; a success resets it, which leaves exactly the failures counted.
  const user = [client.clientId, username.toLowerCase()];
  const attempt = await counters.perAddress.increment([...user, ctx.ip]);
  if (!attempt.recorded || attempt.count > MAX_FAILURES || (await counters.perUsername.count(user)) >= MAX_FAILURES_PER_USERNAME) {
    deps.logger.warn({ event: 'password.locked', reqId: ctx.state?.requestId, clientId: client.clientId }, 'too many failed password attempts');
    throw new errors.InvalidGrant('too many failed attempts; try again later');
  }
  const requested = typeof params?.scope === 'string' ? params.scope.split(' ').filter(Boolean) : [];
  const base = { client: { id: client.clientId, name: client.clientName }, flow: 'token' as const, grantType: 'password', scopes: requested, params: {}, requestId: String(ctx.state?.requestId ?? '') };
  const outcome = await deps.hooks.run(client.clientId, 'authenticateBackchannel', merged(base, { username, password }));
  if ('deny' in outcome) {
    recordRefusal('invalid_grant', 'the username or password is not correct', 'hook:authenticateBackchannel');
    // Under a burst of concurrent failures for one username a few may go unstored (AttemptWindow.recorded):
    // the ceiling is approximate there, while the per-address limit above stays exact.
    await counters.perUsername.increment(user);
    if (outcome.sub !== undefined) {
      const identity = [client.clientId, outcome.sub];
      await Promise.all([counters.perIdentityAddress.increment([...identity, ctx.ip]), counters.perIdentity.increment(identity)]);
    }
    deps.logger.info({ event: 'password.refused', reqId: ctx.state?.requestId, clientId: client.clientId, reason: outcome.deny }, 'password sign-in refused');
    throw new errors.InvalidGrant('the username or password is not correct');
  }
  // The identity's own failures, whatever spelling of the username they were sent under.
  const identity = [client.clientId, outcome.sub];
  if ((await counters.perIdentityAddress.count([...identity, ctx.ip])) >= MAX_FAILURES || (await counters.perIdentity.count(identity)) >= MAX_FAILURES_PER_USERNAME) {
    deps.logger.warn({ event: 'password.locked', reqId: ctx.state?.requestId, clientId: client.clientId }, 'too many failed password attempts');
    throw new errors.InvalidGrant('too many failed attempts; try again later');
  }
  // Only this address's count: failures elsewhere still count toward the username's ceiling.
  await Promise.all([counters.perAddress.reset([...user, ctx.ip]), counters.perIdentityAddress.reset([...identity, ctx.ip])]);

  // Namespaced by source: a hook's `sub` can never name a federated account, nor another client's user.
  const accountId = passwordAccountId(client.clientId, outcome.sub);
  const claims = outcome.claims;
  await deps.store.putRecord<AccountRecord>(ACCOUNT_KIND, accountId, { claims, updatedAt: Math.floor(Date.now() / 1000) });
  const configured = clientConfig(deps.config, client.clientId);
  currentTrace()?.identity({ sub: accountId, claims });
  const decision = evaluateRules(configured?.rules, { claims });
  recordRules(configured?.rules, decision);
  if (!decision.allowed) {
    recordRefusal('invalid_grant', decision.reason, 'rules');
    throw new errors.InvalidGrant(decision.reason);
  }
  if (deps.hooks.has(client.clientId, 'isAuthorized')) {
    const verdict = await deps.hooks.run(client.clientId, 'isAuthorized', merged(base, { user: { sub: accountId, claims, attrs: {} } }));
    if (!verdict.allow) {
      recordRefusal('invalid_grant', safeDescription(verdict.reason ?? 'not allowed'), 'hook:isAuthorized');
      throw new errors.InvalidGrant(safeDescription(verdict.reason ?? 'not allowed'));
    }
  }
  ctx.oidc.entity('Account', (await accountFinder(deps.store)(ctx, accountId))!);
  ctx.body = await issueTokens(ctx, deps, accountId, requested);
}

async function issueTokens(ctx: KoaContextWithOIDC, deps: PasswordGrantDeps, accountId: string, requested: readonly string[]) {
  const { provider, client, params } = ctx.oidc;
  const allowedOidc = new Set((client!.scope ?? '').split(' '));
  const oidcScopes = requested.filter((s) => allowedOidc.has(s));
  const resource = typeof params?.resource === 'string' ? params.resource : undefined;
  const info = resource ? await deps.resources.getResourceServerInfo(ctx, resource, client!) : undefined;
  const resourceScopes = info ? requested.filter((s) => info.scope.split(' ').includes(s)) : [];
  const refused = requested.filter((s) => !oidcScopes.includes(s) && !resourceScopes.includes(s));
  if (refused.length > 0) throw new errors.InvalidScope('requested scope is not allowed', refused.join(' '));

  const grant = new provider.Grant({ accountId, clientId: client!.clientId });
  if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
  if (resource) grant.addResourceScope(resource, resourceScopes.join(' '));
  const grantId = await grant.save();
  const authTime = Math.floor(Date.now() / 1000);

  const at = new provider.AccessToken({ accountId, client: client!, grantId, gty: 'password', scope: (resource ? resourceScopes : oidcScopes).join(' ') || undefined });
  if (resource && info) at.resourceServer = new provider.ResourceServer(resource, info);
  const accessToken = await at.save();

  let refreshToken: string | undefined;
  if (client!.grantTypeAllowed('refresh_token')) {
    const rt = new provider.RefreshToken({ accountId, client: client!, grantId, gty: 'password', scope: [...oidcScopes, ...resourceScopes].join(' '), resource, authTime, expiresWithSession: false, iiat: authTime, rotations: 0 });
    refreshToken = await rt.save();
  }

  let idToken: string | undefined;
  if (oidcScopes.includes('openid')) {
    const account = await accountFinder(deps.store)(ctx, accountId);
    const token = new provider.IdToken(merged(await account!.claims('id_token', oidcScopes.join(' '), {}, []), { auth_time: authTime }), { ctx });
    (token as unknown as { scope: string }).scope = oidcScopes.join(' ');
    idToken = await token.issue({ use: 'idtoken' });
  }

  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: at.expiration,
    scope: at.scope,
    refresh_token: refreshToken,
    id_token: idToken,
  };
}
