// The provider's user interaction (its `login` and `consent` prompts) at /interaction/:uid.
// Until upstream federation is configured, the page says so and lets the user return to the
// application with access_denied (OIDC Core section 3.1.2.6) instead of leaving them stranded.
import type Router from '@koa/router';
import type Provider from 'oidc-provider';

import { html, page } from '../http/html.ts';

export function addInteractionRoutes(router: Router, provider: Provider): Router {

  router.get('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== ctx.params.uid) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = page('Sign-in expired', html`<h1>This sign-in has expired</h1><p>Return to the application and start again.</p>`);
      return;
    }
    const client = await provider.Client.find(String(details.params.client_id));
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = page('Sign in', html`
      <h1>Sign in${client ? html` to ${client.clientName ?? client.clientId}` : ''}</h1>
      <p>No upstream identity provider is configured on this Baton yet, so nobody can sign in here.</p>
      <form method="post" action="/interaction/${details.uid}/abort" class="actions">
        <button type="submit">Return to the application</button>
      </form>`);
  });

  router.post('/interaction/:uid/abort', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== ctx.params.uid) ctx.throw(400, 'interaction mismatch');
    await provider.interactionFinished(ctx.req, ctx.res, {
      error: 'access_denied',
      error_description: 'End-User aborted the sign-in',
    }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });

  return router;
}
