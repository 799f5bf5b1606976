// The issuer root: a small page naming the issuer with a link to its discovery document (OpenID
// Connect Discovery 1.0 section 4), instead of a bare Not Found; and the favicon browsers ask for.
import type { Context } from 'koa';

import { html, page } from './html.ts';

/** A baton on a blue tile, as SVG: one tiny file, no build step. */
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2f5bea"/><path d="M9 23 23 9" stroke="#fff" stroke-width="4" stroke-linecap="round"/></svg>';

/** An `after` step of the edge: answers only where the provider found nothing (404) on GET/HEAD. */
export function rootPage(issuer: string) {
  const body = page('OpenID Provider', html`<h1>Baton</h1>
<p>This is the OpenID Connect issuer <code>${issuer}</code>. Applications sign users in through it;
there is nothing to see here.</p>
<ul>
<li><a href="${`${issuer}/.well-known/openid-configuration`}">Discovery document</a> (<code>/.well-known/openid-configuration</code>)</li>
</ul>
<p class="secondary">Documentation: the README and <code>docs/</code> shipped with Baton
(<code>docs/operations.md</code> for operators, <code>docs/configuration.md</code> for every setting).</p>`);
  return async function issuerRoot(ctx: Context): Promise<void> {
    if (ctx.status !== 404 || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return;
    if (ctx.path === '/') {
      ctx.status = 200;
      ctx.type = 'html';
      ctx.body = body;
    } else if (ctx.path === '/favicon.ico') {
      ctx.status = 200;
      ctx.type = 'image/svg+xml';
      ctx.set('Cache-Control', 'public, max-age=86400');
      ctx.body = FAVICON;
    }
  };
}
