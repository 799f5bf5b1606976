// Pages the provider renders itself: errors, logout confirmation, logout done, and the sign-in page.
import type { ErrorOut, KoaContextWithOIDC } from 'oidc-provider';

import { html, Html, page } from '../http/html.ts';

/** oidc-provider `renderError`: the OAuth error and its description, never internals. */
export async function renderError(ctx: KoaContextWithOIDC, out: ErrorOut): Promise<void> {
  ctx.type = 'html';
  const serverError = out.error === 'server_error';
  const requestId = typeof ctx.state?.requestId === 'string' ? ctx.state.requestId : undefined;
  ctx.body = page('Something went wrong', html`
    <h1>${serverError ? 'Something went wrong on our side' : 'This request cannot be completed'}</h1>
    <p>${serverError ? 'Please try again in a moment.' : out.error_description ?? 'The request was not valid.'}</p>
    <p class="error-code">${out.error}${requestId ? html` · request ${requestId}` : ''}</p>`);
}

/** features.rpInitiatedLogout.logoutSource: ask before signing the user out. */
export async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  const client = ctx.oidc.client;
  ctx.type = 'html';
  ctx.body = page('Sign out', html`
    ${new Html(form)}
    <h1>Sign out${client ? html` of ${client.clientName ?? client.clientId}` : ''}?</h1>
    <p>You will be signed out of Baton on this browser.</p>
    <div class="actions">
      <button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
      <button class="secondary" type="submit" form="op.logoutForm">Stay signed in</button>
    </div>`);
}

/** features.rpInitiatedLogout.postLogoutSuccessSource */
export async function postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Signed out', html`<h1>You are signed out</h1><p>You can close this window.</p>`);
}
