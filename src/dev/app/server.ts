// The demo web app (a confidential client of Baton): routes for sign-in, callback, API calls,
// refresh, sign-out (RP-initiated logout at Baton), the device flow and the token exchange.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { merged } from '../../lang/merged.ts';
import { readBody, sendHtml, sendJson, type Handler } from '../http.ts';
import type { LivePolicy } from '../live-policy.ts';
import type { BatonClient } from './baton-client.ts';
import { renderTrace } from '../../explain/render.ts';
import type { DecisionTrace } from '../../explain/trace.ts';
import { devicePage, errorPage, exchangePage, signedInHome, signedOutHome, whyPage, type PageContext } from './pages.ts';
import { Sessions, type ApiCall, type AppSession } from './session.ts';
import { spaPage } from './spa.ts';

export interface AppOptions {
  readonly baton: BatonClient;
  /** The Orders API endpoint the home page calls. */
  readonly ordersApiUrl: string;
  /** Scopes of the Orders API the app asks for at sign-in. */
  readonly apiScopes: readonly string[];
  /** The other API the token exchange targets. */
  readonly exchangeTarget: { readonly name: string; readonly url: string; readonly resource: string; readonly scope: string };
  readonly idpName: string;
  /** The claims of the last id_token the upstream issued to Baton for a subject at the upstream. */
  readonly upstreamIdToken?: (upstreamSub: string) => Readonly<Record<string, unknown>> | undefined;
  /** The orders authorizer's live policy: the home page changes it (POST /policy). */
  readonly policy?: LivePolicy;
}

/** An OAuth error from openid-client as one readable line. */
function describe(err: unknown): string {
  const e = err as { error?: string; error_description?: string; message?: string };
  return e.error ? `${e.error}${e.error_description ? `: ${e.error_description}` : ''}` : (e.message ?? 'unexpected error');
}

async function callApi(label: string, url: string, token: string, method = 'GET'): Promise<ApiCall> {
  const response = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  const challenge = response.headers.get('www-authenticate');
  return { label, status: response.status, body: challenge ? { 'WWW-Authenticate': challenge, body } : body };
}

/**
 * Same-origin form posts only: the Origin header (when the browser sends one; the pages' referrer
 * policy, same-origin, lets it send the app's own) and the session's synchronizer token.
 */
async function checkedForm(req: IncomingMessage, session: AppSession, appUrl: string): Promise<URLSearchParams | string> {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== new URL(appUrl).origin) return 'cross-origin form post';
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return 'not a form post';
  let form: URLSearchParams;
  try {
    form = new URLSearchParams(await readBody(req, 4096));
  } catch {
    return 'form too large';
  }
  const sent = Buffer.from(form.get('csrf') ?? '');
  const expected = Buffer.from(session.csrf);
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) return 'missing or wrong CSRF token';
  return form;
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store' });
  res.end();
}

export function demoApp(options: AppOptions): Handler {
  const { baton } = options;
  const sessions = new Sessions();
  const context = (session: AppSession): PageContext => ({
    session, apiScopes: options.apiScopes, issuer: baton.options.issuer, idpName: options.idpName, upstreamIdToken: options.upstreamIdToken, policy: options.policy,
  });
  /** Renders and then forgets the one-time notice. */
  const show = (res: ServerResponse, session: AppSession, render: () => string) => {
    const body = render();
    session.notice = undefined;
    sendHtml(res, 200, body);
  };

  type Route = (session: AppSession, res: ServerResponse, url: URL, req: IncomingMessage) => Promise<void>;
  const routes: Record<string, Route> = {
    'GET /': async (session, res, url) => {
      if (url.searchParams.get('state') === 'signed-out') session.notice = 'You signed out at Baton.';
      show(res, session, () => (session.tokens ? signedInHome(context(session)) : signedOutHome(context(session))));
    },
    'POST /login': async (session, res) => redirect(res, (await baton.authorizationUrl(session)).href),
    'GET /callback': async (session, res, url) => {
      if (url.searchParams.has('error')) {
        return sendHtml(res, 400, errorPage('Sign-in did not complete', `${url.searchParams.get('error')}: ${url.searchParams.get('error_description') ?? ''}`));
      }
      try {
        session.tokens = await baton.finishSignIn(session, url);
      } catch (err) {
        return sendHtml(res, 400, errorPage('Sign-in did not complete', describe(err)));
      }
      Object.assign(session, { apiCall: undefined, exchange: undefined });
      redirect(res, '/');
    },
    'POST /call-api': async (session, res) => {
      if (session.tokens) session.apiCall = await callApi(`GET ${options.ordersApiUrl}`, options.ordersApiUrl, session.tokens.accessToken);
      redirect(res, '/');
    },
    'POST /place-order': async (session, res) => {
      if (session.tokens) session.apiCall = await callApi(`POST ${options.ordersApiUrl}`, options.ordersApiUrl, session.tokens.accessToken, 'POST');
      redirect(res, '/');
    },
    'POST /refresh': async (session, res) => {
      if (session.tokens) {
        // The last API answer was for the old access token: it goes.
        session.apiCall = undefined;
        try {
          session.tokens = await baton.refresh(session.tokens);
          session.notice = 'Tokens refreshed: Baton rotated the refresh token and asked the authorizer again.';
        } catch (err) {
          session.notice = `Refresh failed (${describe(err)}): sign in again.`;
          session.tokens = undefined;
        }
      }
      redirect(res, '/');
    },
    'POST /logout': async (session, res) => {
      const idToken = session.tokens?.idToken;
      Object.assign(session, { tokens: undefined, apiCall: undefined, exchange: undefined });
      redirect(res, idToken ? baton.endSessionUrl(idToken).href : '/');
    },
    'POST /policy': async (session, res, _url, req) => {
      const form = await checkedForm(req, session, baton.options.appUrl);
      if (typeof form === 'string') return sendHtml(res, 403, errorPage('Not changed', `The policy was not changed: ${form}. Use the form on the home page.`));
      const [subject, scope] = [form.get('subject') ?? '', form.get('scope') ?? ''];
      if (!options.policy?.set(subject, scope, form.get('allow') === 'yes')) return sendHtml(res, 400, errorPage('Not changed', 'There is no such user or scope in the policy.'));
      session.notice = `Policy changed: ${subject} ${options.policy.allows(subject, scope) ? 'may get' : 'may no longer get'} ${scope}. `
        + 'Refresh tokens to see the authorizer decide again (tokens already issued keep their scopes until then).';
      redirect(res, '/');
    },
    'GET /why': async (session, res) => {
      const requestId = session.tokens?.requestId;
      if (!requestId) return redirect(res, '/');
      const { status, body } = await baton.explain(requestId);
      if (status !== 200) return sendHtml(res, 502, errorPage('No explanation', `Baton answered ${status} for the trace of request ${requestId}: ${JSON.stringify(body)}`, undefined));
      sendHtml(res, 200, whyPage(context(session), requestId, renderTrace(body as DecisionTrace)));
    },
    'GET /device': async (session, res) => sendHtml(res, 200, devicePage(session.device)),
    'POST /device/start': async (session, res) => {
      session.device = await baton.startDevice();
      redirect(res, '/device');
    },
    'GET /device/status': async (session, res) => {
      const device = session.device;
      if (!device) return sendJson(res, 404, { status: 'none', message: 'No device sign-in in progress.' });
      await baton.pollDevice(device);
      sendJson(res, 200, { status: device.status, message: device.message });
    },
    // The SPA keeps no state here: its session is at Baton's BFF.
    'GET /spa': async (_session, res) => sendHtml(res, 200, spaPage(baton.options.issuer)),
    'GET /exchange': async (session, res) => sendHtml(res, 200, exchangePage(context(session), options.exchangeTarget)),
    'POST /exchange': async (session, res) => {
      const tokens = session.tokens;
      if (!tokens) return redirect(res, '/exchange');
      const target = options.exchangeTarget;
      try {
        const { access_token: accessToken, ...response } = await baton.exchange(tokens.accessToken, target.resource, target.scope);
        session.exchange = {
          response: merged(response, { access_token: '(left out)' }),
          accessToken,
          calls: [
            await callApi(`GET ${target.url} with the exchanged token`, target.url, accessToken),
            await callApi(`GET ${target.url} with the Orders token (wrong audience)`, target.url, tokens.accessToken),
          ],
        };
      } catch (err) {
        session.exchange = { response: { error: describe(err) }, calls: [] };
      }
      redirect(res, '/exchange');
    },
  };

  return async (req, res) => {
    const url = new URL(req.url ?? '/', baton.options.appUrl);
    const route = routes[`${req.method} ${url.pathname}`];
    if (!route) return sendHtml(res, 404, errorPage('Not found', 'There is no such page in this demo app.'));
    const session = sessions.of(req, res);
    // Its forms change things (the authorizer's policy among them): never inside another site's frame.
    res.setHeader('content-security-policy', "frame-ancestors 'none'");
    res.setHeader('x-frame-options', 'DENY');
    await route(session, res, url, req);
  };
}
