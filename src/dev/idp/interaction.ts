// The IdP side of sign-in, as oidc-provider's own example does it: a username/password form for
// the login prompt, and automatic consent (a Grant with whatever the client asked for). The page
// and the credential check are the caller's; the demo IdP and the test upstreams share the rest.
import type { IncomingMessage, ServerResponse } from 'node:http';

import type Provider from 'oidc-provider';

import { escapeHtml } from '../../http/html.ts';

export interface LoginForm {
  /** Base path of this interaction: the form posts to `${action}/login` and `${action}/abort`. */
  readonly action: string;
  readonly clientId: string;
  readonly error?: string;
  /** The username typed before a failed attempt. */
  readonly username: string;
}

export interface InteractionOptions {
  loginPage(form: LoginForm): string;
  /** The account id for these credentials, or undefined when they are wrong. */
  authenticate(username: string, password: string): string | undefined;
  /** How the user authenticated (OIDC Core section 2 `acr`, `amr`), for the id_token; none by default. */
  readonly authentication?: { readonly acr?: string; readonly amr?: readonly string[] };
}

export const WRONG_CREDENTIALS = 'Your account or password is incorrect.';

/**
 * Serves `<prefix>/interaction/<uid>` (GET: the form or automatic consent), `.../login` and
 * `.../abort` (POST). `path` is the request path below the prefix.
 */
export async function handleInteraction(
  provider: Provider, options: InteractionOptions, req: IncomingMessage, res: ServerResponse, prefix: string, path: string,
): Promise<void> {
  const [, , uid, action] = path.split('/');
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    return send(res, 400, `<!doctype html><title>Sign-in error</title><p>${escapeHtml((err as Error).message)}</p>`);
  }
  if (details.uid !== uid) return send(res, 400, '<!doctype html><title>Sign-in error</title><p>interaction mismatch</p>');
  const clientId = String(details.params.client_id);
  const base = `${prefix}/interaction/${uid}`;

  if (req.method === 'GET' && action === undefined) {
    if (details.prompt.name === 'login') return send(res, 200, options.loginPage({ action: base, clientId, username: '' }));
    if (details.prompt.name === 'consent') return consent(provider, req, res, details);
  }
  if (req.method === 'POST' && action === 'abort') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    return;
  }
  if (req.method === 'POST' && action === 'login' && details.prompt.name === 'login') {
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const accountId = options.authenticate(username, form.get('password') ?? '');
    if (accountId === undefined) return send(res, 200, options.loginPage({ action: base, clientId, error: WRONG_CREDENTIALS, username }));
    const { acr, amr } = options.authentication ?? {};
    await provider.interactionFinished(req, res, { login: { accountId, ...(acr ? { acr } : {}), ...(amr ? { amr: [...amr] } : {}) } }, { mergeWithLastSubmission: false });
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

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}
