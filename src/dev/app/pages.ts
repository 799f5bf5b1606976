// The demo app's pages: home (sign in, or the tokens side by side with the API's answer), the
// device flow (a code and live status) and the token exchange. Server-rendered, escaped.
import { html } from '../../http/html.ts';
import type { LivePolicy } from '../live-policy.ts';
import { apiResult, decoded, json, jwtCard, layout, scopeChips } from './layout.ts';
import { policyCard } from './policy-card.ts';
import type { AppSession, DeviceAttempt } from './session.ts';

/** Identity claims as Baton mapped them from the upstream (Contoso) into its id_token. */
const IDENTITY_CLAIMS = ['name', 'given_name', 'family_name', 'preferred_username', 'email', 'email_verified', 'locale'];
/** Who issued the token, about whom, for whom: where the two id_tokens differ by design. */
const ENVELOPE_CLAIMS = ['iss', 'sub', 'aud'];

export interface PageContext {
  readonly session: AppSession;
  /** Scopes of the API the app asks for at sign-in (its namespace is decided by the authorizer). */
  readonly apiScopes: readonly string[];
  readonly issuer: string;
  readonly idpName: string;
  /** The claims of the last id_token the upstream issued to Baton for this subject (at the upstream), when known. */
  readonly upstreamIdToken?: (upstreamSub: string) => Readonly<Record<string, unknown>> | undefined;
  /** The orders authorizer's policy, changeable from the home page. */
  readonly policy?: LivePolicy;
}

export function userName(session: AppSession): string | undefined {
  if (!session.tokens) return undefined;
  const { payload } = decoded(session.tokens.idToken);
  return String(payload.name ?? payload.sub);
}

export function signedOutHome(ctx: PageContext): string {
  return layout({ title: 'Welcome', section: 'home', notice: ctx.session.notice }, html`
    <h1>Sign in to see Baton at work</h1>
    <p class="lead">This app is a confidential OpenID Connect client of Baton (<code>${ctx.issuer}</code>).
      Signing in sends you to Baton, which sends you on to ${ctx.idpName}, the company identity provider.
      After you sign in there, Baton asks the orders authorizer what you may do and mints tokens for the Orders API.</p>
    <section class="card"><h2>Try it</h2>
      <p class="hint">alice may read and write orders; bob may only read them. Their passwords are on ${ctx.idpName}'s sign-in page.</p>
      <div class="actions">
        <form class="inline" method="post" action="/login"><button type="submit">Sign in</button></form>
        <a class="button secondary" href="/device">Try the device flow</a>
      </div>
    </section>`);
}

export function signedInHome(ctx: PageContext): string {
  const tokens = ctx.session.tokens!;
  const id = decoded(tokens.idToken).payload;
  const access = decoded(tokens.accessToken).payload;
  const granted = typeof access.scope === 'string' ? access.scope.split(' ') : [];
  const [upstream, ...upstreamSub] = String(id.sub).split(':');
  return layout({ title: 'Signed in', section: 'home', user: userName(ctx.session), notice: ctx.session.notice }, html`
    <h1>Signed in as ${id.name ?? id.sub}</h1>
    <p class="lead">Baton's subject <code>${id.sub}</code> is the upstream id (<code>${upstream}</code>) and ${ctx.idpName}'s own subject
      (<code>${upstreamSub.join(':')}</code>). Tokens obtained ${new Date(tokens.obtainedAt).toLocaleTimeString('en-GB')}${tokens.refreshes ? html`, refreshed ${tokens.refreshes} time${tokens.refreshes === 1 ? '' : 's'}` : ''}.</p>
    <section class="card" id="scopes"><h2>Orders API scopes, decided by the orders authorizer</h2>
      <p class="hint">The app asked for all of them; the authorizer granted what is green. It is asked again at every refresh.</p>
      ${scopeChips(ctx.apiScopes, granted)}
      <div class="actions">
        <form class="inline" method="post" action="/call-api"><button type="submit">Call the Orders API</button></form>
        <form class="inline" method="post" action="/place-order"><button type="submit" class="secondary">Place an order (needs orders:write)</button></form>
        <form class="inline" method="post" action="/refresh"><button type="submit" class="secondary">Refresh tokens</button></form>
        ${tokens.requestId ? html`<a class="button secondary" id="why-scopes" href="/why">Why these scopes?</a>` : ''}
      </div>
    </section>
    ${apiResult(ctx.session.apiCall, 'api-result')}
    ${ctx.policy ? policyCard(ctx.policy, ctx.session.csrf) : ''}
    <div class="grid">
      ${upstreamCard(ctx, id, ctx.upstreamIdToken?.(upstreamSub.join(':')))}
      ${jwtCard('Baton id_token', 'Who you are, for this app (aud = its client_id).', tokens.idToken, 'id-token')}
      ${jwtCard('Baton access token (Orders API)', 'RFC 9068 JWT for the Orders API: scope and the authorizer\'s claims.', tokens.accessToken, 'access-token')}
    </div>`);
}

/** The upstream's own id_token claims (what it told Baton) beside those of Baton's id_token (what Baton told this app). */
function upstreamCard(ctx: PageContext, baton: Record<string, unknown>, upstream: Readonly<Record<string, unknown>> | undefined) {
  const claims = [...ENVELOPE_CLAIMS, ...IDENTITY_CLAIMS.filter((claim) => baton[claim] !== undefined || upstream?.[claim] !== undefined)];
  const show = (value: unknown) => (value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value));
  return html`<section class="card" id="upstream-claims"><h2>From ${ctx.idpName} (upstream identity)</h2>
    <p class="hint">${upstream
      ? html`The claims of the id_token ${ctx.idpName} issued to Baton (read from the demo IdP itself), beside Baton's id_token for this app. Baton keeps ${ctx.idpName}'s tokens: they never reach this app.`
      : html`${ctx.idpName} has not issued an id_token for you since the demo started; Baton's id_token for this app is shown.`}</p>
    <table class="compare"><tr><th>claim</th><th>${ctx.idpName} → Baton</th><th>Baton → this app</th></tr>
      ${claims.map((claim) => {
        const differs = upstream !== undefined && show(upstream[claim]) !== show(baton[claim]);
        return html`<tr data-claim="${claim}"><td>${claim}</td><td class="${differs ? 'differs' : ''}">${upstream ? show(upstream[claim]) : '(not known)'}</td><td class="${differs ? 'differs' : ''}">${show(baton[claim])}</td></tr>`;
      })}</table>
  </section>`;
}

export function devicePage(device: DeviceAttempt | undefined): string {
  const start = html`<form class="inline" method="post" action="/device/start"><button type="submit">${device ? 'Start again' : 'Start a device sign-in'}</button></form>`;
  const intro = html`<h1>Device flow (RFC 8628)</h1>
    <p class="lead">This page plays a device without a keyboard (a "Warehouse scanner", a public client at Baton). It asks Baton for a code,
      shows it, and polls Baton's token endpoint (through this app's server) until you approve it on another screen.</p>`;
  if (!device) return layout({ title: 'Device flow', section: 'device' }, html`${intro}<section class="card">${start}</section>`);
  const body = device.status === 'pending'
    ? html`<section class="card"><h2>On your phone or laptop, open</h2>
        <p><a href="${device.verificationUri}" target="_blank" rel="noopener" id="verification-uri">${device.verificationUri}</a> and enter</p>
        <p class="user-code" id="user-code">${device.userCode}</p>
        ${device.verificationUriComplete ? html`<p class="hint">or open <a href="${device.verificationUriComplete}" target="_blank" rel="noopener">the link with the code filled in</a>.</p>` : ''}
        <p class="hint">Whoever approves it there, signed in at Baton, becomes the device's user: the page shows the account before you confirm.</p>
        <p id="device-status" role="status">${device.message}</p></section>`
    : html`<section class="card"><h2>Device: <span id="device-status" class="status ${device.status === 'approved' ? 'ok' : 'err'}">${device.status}</span></h2>
        <p>${device.message}</p>${approver(device)}${start}</section>
        ${device.accessToken ? html`<div class="grid">${jwtCard('The device\'s access token (Orders API)', 'Scopes decided by the same authorizer.', device.accessToken, 'device-access-token')}
          ${device.idToken ? jwtCard('The device\'s id_token', 'Who approved it.', device.idToken, 'device-id-token') : ''}</div>` : ''}`;
  const script = device.status === 'pending' ? DEVICE_POLLING : undefined;
  return layout({ title: 'Device flow', section: 'device' }, html`${intro}${body}`, script);
}

/** The account the device acts as, from its id_token: who approved it. */
function approver(device: DeviceAttempt) {
  if (!device.idToken) return '';
  const id = decoded(device.idToken).payload;
  return html`<p id="device-approver">Approved by <strong>${String(id.name ?? id.sub)}</strong> (<code>${String(id.sub)}</code>): the device acts as this account.</p>`;
}

/** Asks the app's server every 2 s; the server polls Baton no faster than Baton's interval. */
const DEVICE_POLLING = `
(function poll() {
  setTimeout(async () => {
    try {
      const r = await fetch('/device/status', { headers: { accept: 'application/json' } });
      const s = await r.json();
      document.getElementById('device-status').textContent = s.message;
      if (s.status !== 'pending') return location.reload();
    } catch (e) { /* try again */ }
    poll();
  }, 2000);
})();`;

export function exchangePage(ctx: PageContext, target: { name: string; resource: string; scope: string }): string {
  const { session } = ctx;
  const tokens = session.tokens;
  const intro = html`<h1>Token exchange (RFC 8693)</h1>
    <p class="lead">The app's backend holds your access token for the Orders API. To call the ${target.name} on your behalf it asks Baton
      to exchange it for a token for <code>${target.resource}</code> with <code>${target.scope}</code>: same user, another audience.</p>`;
  if (!tokens) {
    return layout({ title: 'Token exchange', section: 'exchange' }, html`${intro}<section class="card"><p>Sign in first.</p>
      <form class="inline" method="post" action="/login"><button type="submit">Sign in</button></form></section>`);
  }
  const result = session.exchange;
  return layout({ title: 'Token exchange', section: 'exchange', user: userName(session) }, html`${intro}
    <section class="card"><form class="inline" method="post" action="/exchange"><button type="submit">Exchange for a ${target.name} token</button></form></section>
    ${result ? html`<div class="grid">
        <section class="card" id="exchange-response"><h2>Baton's answer</h2><p class="hint">The token endpoint's response (the token itself left out).</p>${json(result.response)}</section>
        ${result.accessToken ? jwtCard(`The exchanged token (${target.name})`, 'Same sub, new aud and scope.', result.accessToken, 'exchanged-token') : ''}
      </div>
      ${result.calls.map((call, i) => apiResult(call, `exchange-call-${i}`))}` : ''}`);
}

/** The decision trace of the app's last token response, as `baton explain` prints it (docs/explain.md). */
export function whyPage(ctx: PageContext, requestId: string, tree: string): string {
  return layout({ title: 'Why these scopes?', section: 'home', user: userName(ctx.session) }, html`<h1>Why these scopes?</h1>
    <p class="lead">Baton's decision trace of the token response this app received (request <code>${requestId}</code>), read from
      <code>${ctx.issuer}/explain/${requestId}</code> with the app's own credentials: each step, who granted or denied each scope, who set each claim.</p>
    <section class="card" id="why"><pre>${tree}</pre><a class="button" href="/">Back</a></section>`);
}

export function errorPage(title: string, message: string, user?: string): string {
  return layout({ title, section: 'home', user }, html`<h1>${title}</h1><section class="card"><p>${message}</p><a class="button" href="/">Back</a></section>`);
}
