// The orders authorizer's policy on the demo app's home page, changeable live: one form per user
// and scope (revoke / restore), each carrying the session's CSRF token. The change is read by the
// authorizer at its next decision: Baton asks it again at the next "Refresh tokens" (cacheTTL 0).
import { html } from '../../http/html.ts';
import type { LivePolicy } from '../live-policy.ts';

export function policyCard(policy: LivePolicy, csrf: string): ReturnType<typeof html> {
  return html`<section class="card" id="policy"><h2>The orders authorizer's policy (live)</h2>
    <p class="hint">Change it here, then press <em>Refresh tokens</em>: Baton asks the authorizer again and the scopes above follow.
      It is the demo authorizer's own table, changed in the running demo only (restarting the demo restores it).</p>
    <table>${policy.choices.map(({ subject, scopes }) => html`<tr><td><code>${subject}</code></td><td class="policy-scopes">${scopes.map((scope) => {
      const allowed = policy.allows(subject, scope);
      return html`<form class="inline" method="post" action="/policy">
        <input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="subject" value="${subject}">
        <input type="hidden" name="scope" value="${scope}"><input type="hidden" name="allow" value="${allowed ? 'no' : 'yes'}">
        <button type="submit" class="chip ${allowed ? 'granted' : 'refused'}" aria-label="${allowed ? 'Revoke' : 'Restore'} ${scope} for ${subject}">${allowed ? '✓' : '✗'} ${scope} · ${allowed ? 'revoke' : 'restore'}</button>
      </form>`;
    })}</td></tr>`)}</table>
  </section>`;
}
