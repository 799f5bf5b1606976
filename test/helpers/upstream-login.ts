// The upstream's sign-in interaction: a server-rendered username/password form (login prompt) and
// automatic consent (a Grant with whatever the client asked for), as oidc-provider's example does.
import type { IncomingMessage, ServerResponse } from 'node:http';

import type Provider from 'oidc-provider';

import { accountIdFor } from './upstream-provider.ts';
import type { UpstreamProfile, UpstreamUser } from './upstream.ts';

const TITLES: Record<UpstreamProfile, { title: string; heading: string }> = {
  entra: { title: 'Contoso sign-in', heading: 'Sign in to your Contoso account' },
  google: { title: 'Sign in with Google', heading: 'Sign in with Google' },
  generic: { title: 'Sign in', heading: 'Sign in' },
};

function escape(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function loginPage(profile: UpstreamProfile, action: string, clientId: string, error?: string, username = ''): string {
  const { title, heading } = TITLES[profile];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;margin:.4rem 0}
.error{color:#a00}</style></head>
<body><main>
<h1>${escape(heading)}</h1>
<p>to continue to <strong>${escape(clientId)}</strong></p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="${escape(action)}/login" autocomplete="off">
  <label for="username">Username</label>
  <input id="username" name="username" type="text" value="${escape(username)}" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button type="submit">Sign in</button>
  <button type="submit" formaction="${escape(action)}/abort" formnovalidate>Cancel</button>
</form>
</main></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

/**
 * Serves `<prefix>/interaction/<uid>` (GET: the form or automatic consent), `.../login` and
 * `.../abort` (POST). `path` is the request path below the prefix.
 */
export async function handleInteraction(
  provider: Provider, profile: UpstreamProfile, users: readonly UpstreamUser[],
  req: IncomingMessage, res: ServerResponse, prefix: string, path: string,
): Promise<void> {
  const [, , uid, action] = path.split('/');
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, `<!doctype html><title>Sign-in error</title><p>${escape((err as Error).message)}</p>`);
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, '<!doctype html><title>Sign-in error</title><p>interaction mismatch</p>');
    return;
  }
  const clientId = String(details.params.client_id);
  const base = `${prefix}/interaction/${uid}`;

  if (req.method === 'GET' && action === undefined) {
    if (details.prompt.name === 'login') return send(res, 200, loginPage(profile, base, clientId));
    if (details.prompt.name === 'consent') return consent(provider, req, res, details);
  }
  if (req.method === 'POST' && action === 'abort') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    return;
  }
  if (req.method === 'POST' && action === 'login' && details.prompt.name === 'login') {
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const user = users.find((u) => u.username === username);
    if (!user || user.password !== form.get('password')) {
      return send(res, 200, loginPage(profile, base, clientId, 'Your account or password is incorrect.', username));
    }
    await provider.interactionFinished(req, res, { login: { accountId: accountIdFor(profile, user) } }, { mergeWithLastSubmission: false });
    return;
  }
  send(res, 404, '<!doctype html><title>Not found</title><p>Not found</p>');
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

async function consent(provider: Provider, req: IncomingMessage, res: ServerResponse, details: Details): Promise<void> {
  const { prompt, params, session, grantId } = details;
  const grant = (grantId ? await provider.Grant.find(grantId) : undefined)
    ?? new provider.Grant({ accountId: session!.accountId, clientId: String(params.client_id) });
  const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: grantId ? {} : { grantId: saved } }, { mergeWithLastSubmission: true });
}
