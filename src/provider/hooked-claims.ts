// The claim-building hooks where oidc-provider builds claims: buildIDTokenClaims for id_tokens of
// the authorization_code and device_code grants (never client_credentials, token exchange or refresh),
// buildUserInfoClaims replacing the scope-based userinfo response entirely, and isAuthenticated
// as a check of the provider's login prompt. Reserved claims are protected by the hook runner.
import type { Context } from 'koa';
import Provider, { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { currentTrace } from '../explain/trace-context.ts';
import { recordIdTokenClaims } from '../explain/token-claims.ts';
import { merged } from '../lang/merged.ts';
import { stringParams, type HookPoints } from '../orchestration/hook-points.ts';
import type { HookUser } from '../orchestration/hooks/index.ts';
import type { Store } from '../storage/store.ts';
import { ACCOUNT_KIND, type AccountRecord } from './accounts.ts';

async function userOf(store: Store, accountId: string): Promise<HookUser> {
  const account = (await store.getRecord<AccountRecord>(ACCOUNT_KIND, accountId))?.value;
  return { sub: accountId, upstream: account?.upstream, upstreamSubject: account?.upstreamSubject, claims: account?.claims ?? {}, attrs: account?.attrs ?? {} };
}

/** Grants whose id_tokens the hook builds: a user just signed in (never refresh, exchange or client_credentials). */
export const ID_TOKEN_GRANTS: ReadonlySet<string> = new Set(['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code']);

/**
 * id_tokens: oidc-provider filters account claims by scope, so hook claims are merged into the
 * payload it builds (IdToken#payload), for the authorization_code grant only.
 */
export function addIdTokenHook(provider: Provider, hooks: HookPoints, store: Store): void {
  const prototype = provider.IdToken.prototype as unknown as { payload(this: IdTokenLike): Promise<Record<string, unknown>> };
  const payload = prototype.payload;
  prototype.payload = function hookedPayload(this: IdTokenLike) {
    const ctx = this.ctx;
    const clientId = this.client?.clientId;
    const grantType = ctx?.oidc?.params?.grant_type;
    if (!ctx || ctx.oidc?.route !== 'token' || !ID_TOKEN_GRANTS.has(String(grantType)) || !clientId || !hooks.has(clientId, 'buildIDTokenClaims')) {
      // No hook: the provider's own payload, without a frame of its own unless a trace records it.
      if (ctx?.oidc?.route !== 'token' || !currentTrace()) return payload.call(this);
      return payload.call(this).then((claims) => {
        recordIdTokenClaims(claims, [], { iss: ctx.oidc.issuer, aud: clientId });
        return claims;
      });
    }
    return withHook(this, ctx, clientId, String(grantType));
  };

  async function withHook(token: IdTokenLike, ctx: KoaContextWithOIDC, clientId: string, grantType: string): Promise<Record<string, unknown>> {
    const claims = await payload.call(token);
    const extra = await idTokenHookClaims(hooks, store, {
      clientId,
      clientName: token.client?.clientName,
      grantType,
      scopes: [...((ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.DeviceCode) as { scopes?: Set<string> } | undefined)?.scopes ?? []],
      sub: String(claims.sub),
      requestId: String(ctx.state?.requestId ?? ''),
    });
    const built = withIdTokenHookClaims(claims, extra);
    recordIdTokenClaims(built, Object.keys(extra).filter((name) => name !== 'sub'), { iss: ctx.oidc.issuer, aud: clientId });
    return built;
  }
}

/** Runs the client's buildIDTokenClaims hook for one id_token, outside any request (`baton preview` calls it too). */
export async function idTokenHookClaims(hooks: HookPoints, store: Store, input: {
  readonly clientId: string; readonly clientName?: string | undefined; readonly grantType: string;
  readonly scopes: readonly string[]; readonly sub: string; readonly requestId: string;
}): Promise<Record<string, unknown>> {
  return hooks.run(input.clientId, 'buildIDTokenClaims', {
    client: { id: input.clientId, name: input.clientName },
    flow: 'token',
    grantType: input.grantType,
    scopes: [...input.scopes],
    params: {},
    user: await userOf(store, input.sub),
    requestId: input.requestId,
  });
}

/** The id_token claims merged as addIdTokenHook does: the hook's claims never replace `sub`. */
export function withIdTokenHookClaims(claims: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  return merged(claims, merged(extra, { sub: claims.sub }));
}

interface IdTokenLike {
  ctx?: KoaContextWithOIDC;
  client?: { clientId: string; clientName?: string };
}

/** userinfo: the provider-level buildUserInfoClaims replaces the scope-based response entirely. */
export function userinfoHook(hooks: HookPoints, store: Store) {
  return async (ctx: Context): Promise<void> => {
    const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
    if (oidc?.route !== 'userinfo' || ctx.status !== 200 || !hooks.has(undefined, 'buildUserInfoClaims')) return;
    const body = ctx.body as { sub?: unknown } | undefined;
    const token = oidc.accessToken as { accountId?: string; scopes?: Set<string> } | undefined;
    if (!body || typeof body.sub !== 'string' || !token?.accountId || !oidc.client) return;
    const claims = await hooks.run(undefined, 'buildUserInfoClaims', {
      client: { id: oidc.client.clientId, name: oidc.client.clientName },
      flow: 'userinfo',
      scopes: [...(token.scopes ?? [])],
      params: {},
      user: await userOf(store, token.accountId),
      requestId: String(ctx.state.requestId ?? ''),
    });
    ctx.body = merged(claims, { sub: body.sub });
  };
}

type Check = InstanceType<typeof interactionPolicy.Check>;
type Prompt = InstanceType<typeof interactionPolicy.Prompt>;

/**
 * The login prompt asks for a fresh sign-in when the client's isAuthenticated hook says no; once
 * the login is satisfied, `decisionChecks` (the reused session's decision) run, then `beforeConsent`
 * (given the consent prompt: first-party clients' silent grants), then consent. Prompts run in this
 * order, each only when the one before asks for nothing, so nothing is granted before the decision.
 */
export function loginPolicy(hooks: HookPoints, store: Store, decisionChecks: readonly Check[] = [], beforeConsent?: (consent: Prompt) => Prompt) {
  const { base, Check, Prompt } = interactionPolicy;
  const policy = base();
  const consent = policy.get('consent')!;
  const at = policy.indexOf(consent);
  if (beforeConsent) policy.add(beforeConsent(consent), at);
  if (decisionChecks.length > 0) policy.add(new Prompt({ name: 'client_decision', requestable: false }, ...decisionChecks), at);
  policy.get('login')!.checks.add(new Check('hook_unauthenticated', 'the application requires a fresh sign-in', async (ctx) => {
    const clientId = ctx.oidc.client?.clientId;
    const accountId = ctx.oidc.session?.accountId;
    if (!clientId || !accountId || !hooks.has(clientId, 'isAuthenticated')) return Check.NO_NEED_TO_PROMPT;
    // A sign-in that just happened in this very request is fresh by definition (and asking again would loop).
    if ((ctx.oidc as { result?: { login?: unknown } }).result?.login) return Check.NO_NEED_TO_PROMPT;
    const ok = await hooks.run(clientId, 'isAuthenticated', {
      client: { id: clientId, name: ctx.oidc.client?.clientName },
      flow: 'authorization',
      scopes: [...ctx.oidc.requestParamScopes],
      params: stringParams(ctx.oidc.params),
      user: await userOf(store, accountId),
      requestId: String(ctx.state?.requestId ?? ''),
    });
    return ok ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
  }));
  return policy;
}
