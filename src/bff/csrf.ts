// The BFF's CSRF defence and CORS (RFC 10017 section 6.1.3.3): every call but the `login` and
// `callback` navigations carries a custom header (`X-CSRF: 1`, which no form or simple request can
// send cross-origin) and an `Origin` on the entry's allowlist. CORS with credentials is answered
// only for those origins, preflights included; any other origin gets no CORS grant at all.
import type { Context } from 'koa';

import type { BffEntry } from './entries.ts';
import { BffError, forbidden } from './errors.ts';

export const CSRF_HEADER = 'x-csrf';

/** Request headers a listed origin may send (beyond the CORS-safelisted ones). Never Cookie or Authorization. */
const ALLOWED_HEADERS = ['x-csrf', 'content-type', 'accept', 'accept-language', 'content-language', 'if-match', 'if-none-match', 'if-modified-since', 'x-request-id'];

/** The request's origin when it is one of the entry's; a same-origin request without `Origin` counts as Baton's own. */
function listedOrigin(ctx: Context, entry: BffEntry, issuer: string): string | undefined {
  const origin = ctx.get('Origin');
  if (origin) return entry.config.origins.includes(origin) ? origin : undefined;
  // Browsers omit Origin on same-origin GET; Sec-Fetch-Site says so, and cannot be forged by a page.
  if (ctx.get('Sec-Fetch-Site') === 'same-origin' && entry.config.origins.includes(issuer)) return issuer;
  return undefined;
}

/** Adds the CORS grant for a listed origin (to every response, errors included, so the SPA can read them). */
export function allowCors(ctx: Context, entry: BffEntry): void {
  const origin = ctx.get('Origin');
  ctx.vary('Origin');
  if (!origin || !entry.config.origins.includes(origin)) return;
  ctx.set('Access-Control-Allow-Origin', origin);
  ctx.set('Access-Control-Allow-Credentials', 'true');
}

/** Refuses the request unless it carries the CSRF header and comes from a listed origin. */
export function requireCsrf(ctx: Context, entry: BffEntry, issuer: string): void {
  if (!listedOrigin(ctx, entry, issuer)) throw forbidden('the request must come from one of the app\'s origins');
  if (ctx.get(CSRF_HEADER) !== '1') throw forbidden('the request must carry the X-CSRF: 1 header');
}

/** Answers a CORS preflight: 204 with the grant for a listed origin, 403 without any grant otherwise. */
export function preflight(ctx: Context, entry: BffEntry, methods: readonly string[]): void {
  const origin = ctx.get('Origin');
  if (!origin || !entry.config.origins.includes(origin)) throw new BffError(403, 'forbidden', 'this origin may not call this app\'s backend');
  const method = ctx.get('Access-Control-Request-Method').toUpperCase();
  if (method && !methods.includes(method)) throw new BffError(405, 'method_not_allowed', `${method} is not allowed here`, { Allow: methods.join(', ') });
  const requested = ctx.get('Access-Control-Request-Headers').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const refused = requested.find((h) => !ALLOWED_HEADERS.includes(h));
  if (refused) throw new BffError(403, 'forbidden', `the ${refused} header may not be sent here`);
  allowCors(ctx, entry);
  ctx.set('Access-Control-Allow-Methods', methods.join(', '));
  ctx.set('Access-Control-Allow-Headers', ALLOWED_HEADERS.join(', '));
  ctx.set('Access-Control-Max-Age', '600');
  ctx.status = 204;
}
