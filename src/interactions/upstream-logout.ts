// Logout continued at the upstream (OpenID Connect RP-Initiated Logout 1.0, Baton as the RP): when a
// user signs out of Baton entirely and the upstream they signed in with has `continueLogout`, the
// browser goes on to the upstream's end_session_endpoint (with the upstream id_token as hint), comes
// back to Baton, and only then goes where the app asked. The logout page remembers what the
// confirmation needs, because confirming revokes the grants and with them the vaulted tokens.
import { createHash, randomBytes } from 'node:crypto';

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { BatonConfig } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
import type { Store } from '../storage/store.ts';
import { canEndSession } from '../upstream/connector.ts';
import type { Upstreams } from '../upstream/index.ts';
import type { UpstreamVault } from '../upstream/vault.ts';
import { postLogoutSuccessSource } from './pages.ts';

/** Where the upstream sends the browser back: register `{issuer}/logout/upstream` there. */
export const UPSTREAM_LOGOUT_RETURN = '/logout/upstream';
const RETURN_KIND = 'upstream-logout-return';
/** Seconds the user has to confirm, and to come back from the upstream. */
const LIFETIME = 600;

export interface UpstreamLogoutDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly vault: UpstreamVault;
  readonly upstreams: Upstreams;
  readonly logger: Logger;
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');
const prepared = (xsrf: string) => `logout:${digest(xsrf)}`;

export class UpstreamLogout {
  readonly #deps: UpstreamLogoutDeps;

  constructor(deps: UpstreamLogoutDeps) {
    this.#deps = deps;
  }

  /** On the logout confirmation page: the upstream and its id_token, sealed, under the form's xsrf. Never fails the page. */
  async prepare(ctx: KoaContextWithOIDC): Promise<void> {
    try {
      const session = ctx.oidc.session;
      const xsrf = (session?.state as { secret?: unknown } | undefined)?.secret;
      if (!session?.accountId || typeof xsrf !== 'string') return;
      const account = await this.#deps.store.getRecord<AccountRecord>(ACCOUNT_KIND, session.accountId);
      const upstream = account?.value.upstream;
      if (!upstream || !this.#deps.upstreams.settings(upstream)?.continueLogout) return;
      const grantIds = Object.values(session.authorizations ?? {}).map((a) => a.grantId).filter((id): id is string => typeof id === 'string');
      let idToken: string | undefined;
      for (const grantId of grantIds) {
        const entry = await this.#deps.vault.get(grantId);
        if (entry?.upstream === upstream && entry.tokens.idToken) idToken = entry.tokens.idToken;
      }
      await this.#deps.vault.stash(prepared(xsrf), { upstream, tokens: idToken ? { idToken } : {}, refreshedAt: Math.floor(Date.now() / 1000) }, LIFETIME);
    } catch (err) {
      this.#deps.logger.warn({ event: 'upstream.logout_failed', reqId: ctx.state?.requestId, err }, 'could not prepare the upstream logout; Baton signs out on its own');
    }
  }

  /** After "Sign out" was confirmed (edge `after` step): redirect through the upstream's end_session_endpoint. */
  readonly continue = async (ctx: Context): Promise<void> => {
    // The provider's resolved route, not the path: it routes `/LOGOUT/confirm/` here too.
    const oidc = (ctx as Partial<KoaContextWithOIDC>).oidc;
    if (oidc?.route !== 'end_session_confirm' || ctx.status < 300 || ctx.status >= 400) return;
    const params = oidc.params as { xsrf?: unknown; logout?: unknown } | undefined;
    if (typeof params?.xsrf !== 'string') return;
    const entry = await this.#deps.vault.unstash(prepared(params.xsrf));
    // "Stay signed in" ends only this app's session at Baton: the IdP session stays.
    if (!entry || !params.logout) return;
    const connector = this.#deps.upstreams.get(entry.upstream);
    const settings = this.#deps.upstreams.settings(entry.upstream);
    try {
      const endpoint = connector && canEndSession(connector) ? await connector.endSessionEndpoint() : undefined;
      if (!endpoint || !settings) return;
      const state = randomBytes(24).toString('base64url');
      await this.#deps.store.putRecord(RETURN_KIND, digest(state), { returnTo: ctx.response.get('location') || undefined }, { expiresIn: LIFETIME });
      const url = new URL(endpoint);
      if (entry.tokens.idToken) url.searchParams.set('id_token_hint', entry.tokens.idToken);
      url.searchParams.set('client_id', settings.clientId);
      url.searchParams.set('post_logout_redirect_uri', `${this.#deps.config.issuer}${UPSTREAM_LOGOUT_RETURN}`);
      url.searchParams.set('state', state);
      ctx.redirect(url.href);
      this.#deps.logger.info({ event: 'upstream.logout', reqId: ctx.state.requestId, upstream: entry.upstream }, 'continuing the logout at the upstream');
    } catch (err) {
      // The user is signed out of Baton already: the app's redirect stands.
      this.#deps.logger.warn({ event: 'upstream.logout_failed', reqId: ctx.state.requestId, upstream: entry.upstream, err }, 'could not continue the logout at the upstream');
    }
  };

  /** `GET /logout/upstream?state=`: back from the upstream, on to where the app asked (once). */
  addRoute(router: Router): void {
    router.get(UPSTREAM_LOGOUT_RETURN, async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      const state = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
      const record = state ? await this.#deps.store.getRecord<{ returnTo?: string }>(RETURN_KIND, digest(state)) : undefined;
      if (record) await this.#deps.store.deleteRecord(RETURN_KIND, digest(state!));
      if (record?.value.returnTo) {
        ctx.redirect(record.value.returnTo);
        return;
      }
      // No app to return to (or an unknown, used or expired state): the user is signed out all the same.
      await postLogoutSuccessSource(ctx as unknown as KoaContextWithOIDC);
    });
  }
}
