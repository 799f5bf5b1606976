// The demo's single-page app: a static page on the demo app's origin that signs in through Baton's
// backend-for-frontend (`{issuer}/bff/spa/`, docs/bff.md) and calls the Orders API through its proxy.
// Its JavaScript never holds a token: the page shows what `document.cookie` holds (nothing useful).
import { html } from '../../http/html.ts';
import { layout } from './layout.ts';

export function spaPage(issuer: string): string {
  const body = html`<h1>Single-page app (backend-for-frontend)</h1>
    <p class="hint">This page is plain JavaScript. It signs in through Baton's BFF, which keeps every token
    server-side: the browser holds only an HttpOnly session cookie, and each API call goes through
    <code>${issuer}/bff/spa/api/…</code>, where Baton attaches the Orders API's own access token.</p>
    <section class="card"><h2>Session</h2>
      <div id="spa-signed-out" hidden><button id="spa-login" type="button">Sign in</button></div>
      <div id="spa-signed-in" hidden>
        <button id="spa-call" type="button">Call the Orders API</button>
        <button id="spa-order" type="button">Place an order</button>
        <button id="spa-logout" class="secondary" type="button">Sign out</button>
      </div>
      <pre id="spa-user">…</pre></section>
    <section class="card"><h2>Decided scopes</h2><ul class="scopes" id="spa-scopes"></ul></section>
    <section class="card"><h2>API call</h2><pre id="spa-api">No call yet.</pre></section>
    <section class="card"><h2>What JavaScript can see</h2><p class="hint"><code>document.cookie</code> on this page:</p>
      <pre id="spa-cookie"></pre></section>`;
  const script = `
const BFF = ${JSON.stringify(`${issuer}/bff/spa`)};
const $ = (id) => document.getElementById(id);
// Every call: the session cookie (credentials: 'include') and the CSRF header.
const bff = (path, init = {}) => fetch(BFF + '/' + path, { ...init, credentials: 'include', headers: { ...(init.headers || {}), 'X-CSRF': '1' } });
function signedIn(yes) { $('spa-signed-in').hidden = !yes; $('spa-signed-out').hidden = yes; }
async function show() {
  $('spa-cookie').textContent = document.cookie || '(empty: the session cookie is HttpOnly, and no token is ever here)';
  const response = await bff('user');
  if (response.status === 401) { signedIn(false); $('spa-user').textContent = 'Not signed in.'; return; }
  signedIn(true);
  $('spa-user').textContent = JSON.stringify(await response.json(), null, 2);
}
async function callApi(method) {
  const response = await bff('api/orders', { method });
  if (response.status === 401) { signedIn(false); return; }
  const text = await response.text();
  let body = text;
  try { body = JSON.parse(text); } catch {}
  $('spa-api').textContent = method + ' /bff/spa/api/orders -> ' + response.status + '\\n' + JSON.stringify(body, null, 2);
  const scopes = (body && body.scopes) || [];
  $('spa-scopes').replaceChildren(...scopes.map((scope) => { const li = document.createElement('li'); li.className = 'scope granted'; li.textContent = '✓ ' + scope; return li; }));
}
$('spa-login').onclick = () => { location.href = BFF + '/login?returnTo=' + encodeURIComponent(location.origin + location.pathname); };
$('spa-call').onclick = () => callApi('GET');
$('spa-order').onclick = () => callApi('POST');
$('spa-logout').onclick = async () => {
  const response = await bff('logout', { method: 'POST', headers: { accept: 'application/json' } });
  const { endSessionUrl } = await response.json();
  location.href = endSessionUrl;
};
show();`;
  return layout({ title: 'Single-page app', section: 'spa' }, body, script);
}
