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

/** The upstream chooser: one button per identity provider the client allows. */
export function chooserPage(clientName: string, uid: string, upstreams: ReadonlyArray<{ id: string; name: string }>): string {
  return page('Sign in', html`
    <h1>Sign in to ${clientName}</h1>
    <p>Choose how you want to sign in.</p>
    <ul class="choices" role="list">
      ${upstreams.map((u) => html`<li><a class="choice" href="/interaction/${uid}/upstream/${u.id}">Continue with ${u.name}</a></li>`)}
    </ul>
    <form method="post" action="/interaction/${uid}/abort" class="actions">
      <button class="secondary" type="submit">Cancel</button>
    </form>`);
}

/** Approve or deny the scopes a client asks for (clients with requireConsent). */
export function consentPage(clientName: string, uid: string, scopes: readonly string[], resources: ReadonlyArray<{ resource: string; scopes: readonly string[] }>): string {
  return page('Allow access', html`
    <h1>Allow ${clientName} access?</h1>
    <p>${clientName} is asking to:</p>
    <ul>
      ${scopes.map((s) => html`<li><code>${s}</code></li>`)}
      ${resources.map((r) => html`<li>use <code>${r.resource}</code>${r.scopes.length ? html` with <code>${r.scopes.join(' ')}</code>` : ''}</li>`)}
    </ul>
    <div class="actions">
      <form method="post" action="/interaction/${uid}/consent"><button type="submit" autofocus>Allow</button></form>
      <form method="post" action="/interaction/${uid}/abort"><button class="secondary" type="submit">Deny</button></form>
    </div>`);
}

/** A failure Baton will not redirect with: the user sees why, the client never sees anything unverified. */
export function signInErrorPage(title: string, message: string, requestId: string): string {
  return page(title, html`<h1>${title}</h1><p>${message}</p><p>Return to the application and try again.</p>
    <p class="error-code">request ${requestId}</p>`);
}

/** Authorization denied after sign-in: the reason (from configuration, never internals) and the way back. */
export function deniedPage(uid: string, reason: string): string {
  return page('Access denied', html`<h1>Access denied</h1><p>You signed in, but ${reason}.</p>
    <form method="post" action="/interaction/${uid}/abort" class="actions"><button type="submit">Return to the application</button></form>`);
}
