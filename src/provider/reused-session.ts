// A Baton session reused for a client (OIDC Core section 3.1.2.3): the client's decision runs again
// for the session's account, on the same pipeline as a fresh sign-in (upstream allow-list, email
// domains, rules, isAuthorized). A refusal is access_denied at the redirect_uri (section 3.1.2.6),
// prompt=none included, before any interaction, grant or code.
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { clientConfig } from '../config/clients.ts';
import type { BatonConfig } from '../config/schema.ts';
import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { stringParams, type HookPoints } from '../orchestration/hook-points.ts';
import { HookError } from '../orchestration/hooks/index.ts';
import { authorizeUser, storedUpstream } from '../orchestration/pipeline.ts';
import type { Store } from '../storage/store.ts';
import type { Upstreams } from '../upstream/index.ts';
import { ACCOUNT_KIND, type AccountRecord } from './accounts.ts';

export interface ReusedSessionDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly hooks: HookPoints;
  readonly upstreams: Upstreams;
  readonly logger: Logger;
  readonly events: Events;
}

/**
 * A check of its own prompt, right after login (provider/hooked-claims.ts loginPolicy), so it runs on
 * every authorization request (and device verification) whose login is already satisfied by the
 * session, before a first-party client's silent grant and before consent: after the login prompt, which
 * keeps precedence (prompt=login, max_age, isAuthenticated ask for a fresh sign-in, whose callback
 * runs the decision itself). It never asks for a prompt: it allows, or throws access_denied.
 */
export function reusedSessionCheck(deps: ReusedSessionDeps): InstanceType<typeof interactionPolicy.Check> {
  const { Check } = interactionPolicy;
  return new Check('reused_session_authorization', 'the application decides for the signed-in account', async (ctx) => {
    const clientId = ctx.oidc.client?.clientId;
    const accountId = ctx.oidc.session?.accountId;
    if (!clientId || !accountId) return Check.NO_NEED_TO_PROMPT;
    // The upstream sign-in of this very interaction already ran the decision for this client.
    if ((ctx.oidc as { result?: { login?: unknown } }).result?.login) return Check.NO_NEED_TO_PROMPT;
    const refusal = await decide(ctx, deps, clientConfig(deps.config, clientId), clientId, accountId);
    if (refusal === undefined) return Check.NO_NEED_TO_PROMPT;
    throw new errors.AccessDenied(refusal);
  });
}

/** The refusal reason, or undefined when the client accepts the session's account. */
async function decide(ctx: KoaContextWithOIDC, deps: ReusedSessionDeps, client: BatonConfig['clients'][number] | undefined, clientId: string, accountId: string): Promise<string | undefined> {
  const requestId = String(ctx.state?.requestId ?? '');
  const account = (await deps.store.getRecord<AccountRecord>(ACCOUNT_KIND, accountId))?.value;
  let outcome: Awaited<ReturnType<typeof authorizeUser>>;
  try {
    outcome = await authorizeUser(deps, {
      hookKey: clientId,
      client: { id: clientId, name: client?.client_name },
      rules: client?.rules,
      flow: 'authorization',
      params: stringParams(ctx.oidc.params ?? {}),
      scopes: [...ctx.oidc.requestParamScopes],
      requestId,
      // The account as the session's sign-in stored it (claims and loadAttrs attributes); no new
      // upstream sign-in happens here, so loadAttrs does not run and hooks see no api.upstream.
      user: { accountId, upstream: account?.upstream, upstreamSubject: account?.upstreamSubject, claims: account?.claims ?? {}, attrs: account?.attrs ?? {} },
      signIn: false,
      allowedUpstreams: client?.upstreams,
      // An upstream no longer configured: its domain rule cannot be checked, so nobody passes.
      ...storedUpstream(account?.upstream, (id) => deps.upstreams.get(id)),
    });
  } catch (err) {
    if (!(err instanceof HookError)) throw err;
    deps.logger.warn({ event: 'authorization.failed', reqId: requestId, sub: accountId, clientId, hook: err.hook, kind: err.kind }, 'a hook failed while reusing the session');
    return err.message;
  }
  if (outcome.allowed) return undefined;
  deps.logger.info({ event: 'authorization.denied', reqId: requestId, sub: accountId, clientId, by: outcome.by, at: 'session' }, 'session reuse denied');
  deps.events.emit('authorization.denied', { reqId: requestId, sub: accountId, clientId, by: outcome.by, at: 'session' });
  return outcome.reason;
}
