// The provider's user interaction at /interaction/:uid and the upstream callback at
// /callback/:upstream. Login: route to an upstream (straight redirect, idp_hint, login_hint
// domain, or the chooser). Consent: granted by Baton for first-party clients, asked otherwise.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import { clientConfig } from '../config/clients.ts';
import type { BatonConfig } from '../config/schema.ts';
import { html, page } from '../http/html.ts';
import type { Events } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Upstreams } from '../upstream/index.ts';
import type { UpstreamSessions } from '../upstream/session.ts';
import type { UpstreamVault } from '../upstream/vault.ts';
import type { Store } from '../storage/store.ts';
import { safeDescription, stringParams, type HookPoints } from '../orchestration/hook-points.ts';
import { HookError } from '../orchestration/hooks/index.ts';
import { completeUpstreamLogin, denialReason, relayUpstreamCallback, showDenial, startUpstreamLogin } from './upstream-login.ts';
import type { Connector } from '../upstream/connector.ts';
import { consentSummary, grantMissing } from './consent.ts';
import { chooserPage, consentPage } from './pages.ts';
import { allowedUpstreams, route } from './routing.ts';

export interface InteractionDeps {
  readonly provider: Provider;
  readonly config: BatonConfig;
  readonly store: Store;
  readonly upstreams: Upstreams;
  readonly vault: UpstreamVault;
  readonly logger: Logger;
  readonly events: Events;
  readonly hooks: HookPoints;
  readonly sessions: UpstreamSessions;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export function addInteractionRoutes(router: Router, deps: InteractionDeps): Router {
  const { provider, config } = deps;

  /** The interaction of this browser, which must be the one the URL names. */
  async function interaction(ctx: Context): Promise<Details | undefined> {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid === ctx.params.uid) return details;
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = page('Sign-in expired', html`<h1>This sign-in has expired</h1><p>Return to the application and start again.</p>`);
    return undefined;
  }

  router.get('/interaction/:uid', async (ctx) => {
    const details = await interaction(ctx);
    if (!details) return;
    const client = clientConfig(config, String(details.params.client_id));
    const clientName = client?.client_name ?? String(details.params.client_id);
    ctx.set('Cache-Control', 'no-store');

    if (details.prompt.name === 'login') {
      const chosen = await authenticateHook(ctx, deps, details, clientName);
      if (chosen === 'handled') return;
      if (chosen) {
        await startUpstreamLogin(ctx, deps, details, chosen);
        return;
      }
      const choice = route({
        allowed: allowedUpstreams(deps.upstreams.all, client?.upstreams),
        idpHint: details.params.idp_hint,
        loginHint: details.params.login_hint,
      });
      if (choice.kind === 'redirect') {
        await startUpstreamLogin(ctx, deps, details, choice.upstream);
        return;
      }
      ctx.type = 'html';
      ctx.body = choice.kind === 'choose'
        ? chooserPage(clientName, details.uid, choice.upstreams)
        : page('Sign in', html`<h1>Sign in to ${clientName}</h1>
            <p>No upstream identity provider is configured for this application, so nobody can sign in here.</p>
            <form method="post" action="/interaction/${details.uid}/abort" class="actions"><button type="submit">Return to the application</button></form>`);
      return;
    }

    // Consent: first-party clients are granted what their configuration allows, without a page.
    if (!client?.requireConsent) {
      await finishConsent(ctx, deps, details);
      return;
    }
    const { scopes, resources } = consentSummary(details);
    ctx.type = 'html';
    ctx.body = consentPage(clientName, details.uid, scopes, resources);
  });

  router.get('/interaction/:uid/upstream/:upstream', async (ctx) => {
    const details = await interaction(ctx);
    if (!details) return;
    const client = clientConfig(config, String(details.params.client_id));
    const upstream = allowedUpstreams(deps.upstreams.all, client?.upstreams).find((u) => u.id === ctx.params.upstream);
    if (!upstream || details.prompt.name !== 'login') {
      ctx.throw(400, 'this identity provider is not available for this application');
      return;
    }
    await startUpstreamLogin(ctx, deps, details, upstream);
  });

  router.get('/callback/:upstream', (ctx) => relayUpstreamCallback(ctx, deps));
  router.get('/interaction/:uid/callback/:upstream', (ctx) => completeUpstreamLogin(ctx, deps));

  router.post('/interaction/:uid/consent', async (ctx) => {
    const details = await interaction(ctx);
    if (!details) return;
    if (details.prompt.name !== 'consent') ctx.throw(400, 'nothing to consent to');
    await finishConsent(ctx, deps, details);
  });

  router.post('/interaction/:uid/abort', async (ctx) => {
    const details = await interaction(ctx);
    if (!details) return;
    const denied = await denialReason(deps, details.uid);
    await provider.interactionFinished(ctx.req, ctx.res, {
      error: 'access_denied',
      error_description: denied ?? 'End-User aborted the sign-in',
    }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });

  return router;
}

async function finishConsent(ctx: Context, deps: InteractionDeps, details: Details): Promise<void> {
  const grantId = await (await grantMissing(deps.provider, details)).save();
  const stashId = (details.lastSubmission as { upstream?: { stashId?: string } } | undefined)?.upstream?.stashId;
  if (stashId) await deps.vault.claim(stashId, grantId);
  else if (details.session?.uid) {
    // Signed in through the existing Baton session: this grant relies on a sibling's upstream sign-in.
    const session = await deps.provider.Session.findByUid(details.session.uid);
    const siblings = Object.values(session?.authorizations ?? {}).map((a) => a.grantId).filter((id): id is string => typeof id === 'string');
    await deps.sessions.link(grantId, siblings);
  }
  await deps.provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  ctx.respond = false;
}

/**
 * The client's authenticate hook chooses how the user signs in: an upstream (which the client must
 * be allowed), a denial, or nothing (default routing). 'handled' means a page was written.
 */
async function authenticateHook(ctx: Context, deps: InteractionDeps, details: Details, clientName: string): Promise<Connector | 'handled' | undefined> {
  const clientId = String(details.params.client_id);
  if (!deps.hooks.has(clientId, 'authenticate')) return undefined;
  try {
    const result = await deps.hooks.run(clientId, 'authenticate', {
      client: { id: clientId, name: clientName },
      flow: 'authorization',
      scopes: typeof details.params.scope === 'string' ? details.params.scope.split(' ') : [],
      params: stringParams(details.params),
      requestId: String(ctx.state.requestId ?? ''),
    });
    if (!result) return undefined;
    if ('deny' in result) {
      await showDenial(ctx, deps, details.uid, safeDescription(result.deny));
      return 'handled';
    }
    const client = clientConfig(deps.config, clientId);
    const upstream = allowedUpstreams(deps.upstreams.all, client?.upstreams).find((u) => u.id === result.upstream);
    if (upstream) return upstream;
    throw new HookError('bad-shape', 'authenticate', 'configured module', `unknown or disallowed upstream ${result.upstream}`);
  } catch (err) {
    if (!(err instanceof HookError)) throw err;
    ctx.status = 500;
    ctx.type = 'html';
    ctx.body = page('Sign-in failed', html`<h1>Sign-in failed</h1><p>${err.message}</p><p class="error-code">request ${String(ctx.state.requestId ?? '')}</p>`);
    return 'handled';
  }
}
