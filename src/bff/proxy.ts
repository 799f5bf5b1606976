// `ANY api/{route}/...`: the BFF's API proxy (RFC 10017 section 6.1.3.1). Only configured routes and
// methods; the browser's Cookie and Authorization never pass, hop-by-hop headers (RFC 9110 section
// 7.6.1) are dropped both ways, bodies stream under a size limit and a deadline, and the route's
// token is attached here: the user's (refreshed first when near expiry; once more after an API's 401
// on a bodiless request), the client's, or none; every route needs a live session. Nothing the API
// sets as a cookie, nor its policy headers for Baton's origin, reaches the browser.
import { Transform, type Readable } from 'node:stream';

import type { Context } from 'koa';

import type { BffRouteConfig } from '../config/bff.ts';
import { merged } from '../lang/merged.ts';
import type { BffDeps, BffEntry } from './entries.ts';
import { BffError } from './errors.ts';
import { currentSession } from './session-endpoints.ts';
import type { TokenSource } from './tokens.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/**
 * Request headers the API never sees: the browser's credentials, the CSRF marker, what the edge sets
 * itself, and what would let a caller override the route's methods or claim another client address.
 */
const NOT_FORWARDED = new Set([
  'host', 'cookie', 'authorization', 'x-csrf', 'origin', 'referer', 'content-length', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto',
  'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip', 'true-client-ip', 'x-client-ip', 'cf-connecting-ip', 'x-original-url', 'x-rewrite-url',
  'x-http-method-override', 'x-http-method', 'x-method-override',
  // Answered already: Node's server sends `100 Continue` itself, and the API client refuses to send it (a 502).
  'expect',
]);
const EMPTY_STATUSES = new Set([204, 205, 304]);
/**
 * Response headers the browser never sees from an API: cookies, and what is Baton's to say on its own
 * origin (transport security, site data, framing and content policies, CORS: set by the BFF itself).
 */
const NOT_RETURNED = new Set([
  'set-cookie', 'set-cookie2', 'content-length', 'strict-transport-security', 'clear-site-data', 'content-security-policy',
  'content-security-policy-report-only', 'x-frame-options', 'x-content-type-options', 'permissions-policy', 'referrer-policy',
  'cross-origin-opener-policy', 'cross-origin-embedder-policy', 'cross-origin-resource-policy', 'cache-control', 'vary',
]);

/**
 * The route and the rest of the path; `..`, `.`, encoded slashes, path parameters (`..;` is `..` to
 * some servers) and encoded percent signs (`%252e`: a dot to a server that decodes twice) cannot
 * climb out of the route's base.
 */
export function target(route: BffRouteConfig, rest: string, search: string): URL {
  const segments = rest.split('/');
  if (segments.some((s) => /^(\.|%2e){1,2}$/i.test(s) || /%2f|%5c|%25|%3b/i.test(s) || s.includes('\\') || s.includes(';'))) {
    throw new BffError(400, 'invalid_request', 'the path must not contain dot segments, encoded slashes or percent signs, or path parameters (;)');
  }
  const url = new URL(route.url);
  url.pathname = `${url.pathname.replace(/\/$/, '')}${rest ? `/${rest}` : ''}`;
  url.search = search;
  return url;
}

export async function proxy(ctx: Context, deps: BffDeps, entry: BffEntry, tokens: TokenSource, route: BffRouteConfig, rest: string): Promise<void> {
  const method = ctx.method.toUpperCase();
  if (!route.methods.includes(method as never)) throw new BffError(405, 'method_not_allowed', `${method} is not allowed on this route`, { Allow: route.methods.join(', ') });
  // Every route is for a signed-in browser: a `client-credentials` or `none` route is no open relay
  // of the BFF client's token or of its network position.
  const session = await currentSession(ctx, deps, entry);
  const url = target(route, rest, ctx.search);
  const max = entry.config.proxy.maxBodySize;
  const declared = Number(ctx.get('Content-Length') || '0');
  if (declared > max) throw new BffError(413, 'payload_too_large', `the request body is larger than ${max} bytes`);

  const headers = forwardedHeaders(ctx);
  const bodiless = method === 'GET' || method === 'HEAD';
  let sent: string | undefined;
  // undici loads with the first proxied call: a Baton without a BFF never holds it (~20 MiB of RSS).
  const { errors: undiciErrors, request } = await import('undici');
  const send = async (rejected?: string) => {
    const authorization = route.token === 'user' ? (await tokens.user(entry, session, route.resource!, rejected)).token : route.token === 'client-credentials' ? await tokens.client(entry, route.resource!) : undefined;
    sent = authorization;
    return request(url, {
      method: method as 'GET',
      headers: authorization ? merged(headers, { authorization: `Bearer ${authorization}` }) : headers,
      body: bodiless ? null : ctx.req.pipe(limit(max)),
      headersTimeout: entry.config.proxy.timeout * 1000,
      bodyTimeout: entry.config.proxy.timeout * 1000,
    });
  };
  let response;
  try {
    response = await send();
    // The API refused a token Baton thinks is fine (revoked scope, clock skew): refresh once and retry.
    if (response.statusCode === 401 && bodiless && route.token === 'user') {
      await response.body.dump();
      response = await send(sent);
    }
  } catch (err) {
    if (err instanceof BffError) throw err;
    if (err instanceof TooLarge) throw new BffError(413, 'payload_too_large', `the request body is larger than ${max} bytes`);
    const timeout = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError;
    deps.logger.warn({ err: { name: (err as Error).name, code: (err as { code?: string }).code }, bff: entry.config.id, route: route.name }, 'BFF proxy: the API could not be reached');
    throw new BffError(timeout ? 504 : 502, timeout ? 'gateway_timeout' : 'bad_gateway', `the ${route.name} API did not answer`);
  }
  ctx.status = response.statusCode;
  const connectionNamed = connectionTokens(response.headers.connection);
  for (const [name, value] of Object.entries(response.headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || NOT_RETURNED.has(lower) || lower.startsWith('access-control-') || connectionNamed.has(lower)) continue;
    // A redirect would send the browser's fetch on, with its cookies, wherever the API says.
    if (lower === 'location' && response.statusCode >= 300 && response.statusCode < 400) continue;
    ctx.set(name, value as string | string[]);
  }
  // Added to the BFF's own Vary (Origin), never in its place.
  for (const field of connectionTokens(response.headers.vary)) ctx.vary(field);
  ctx.set('Cache-Control', privateCache(response.headers['cache-control']));
  if (method === 'HEAD' || EMPTY_STATUSES.has(response.statusCode)) {
    // No body goes out: release the connection instead of leaving the API's stream unread.
    await response.body.dump();
    return;
  }
  ctx.body = response.body as unknown as Readable;
}

/**
 * The API's caching, for this user's browser only: an answer that depends on the session cookie must
 * never be kept by a shared cache (`public` and `s-maxage` go, `private` is added); none: no-store.
 */
function privateCache(value: string | string[] | undefined): string {
  if (value === undefined) return 'no-store';
  const directives = commaList(value).filter((d) => !/^(public|s-maxage\s*=.*|proxy-revalidate)$/i.test(d));
  if (!directives.some((d) => /^(private|no-store)$/i.test(d))) directives.unshift('private');
  return directives.join(', ');
}

/** The items of a comma-separated header (one or several fields), trimmed, empty ones left out. */
function commaList(value: string | string[] | undefined): string[] {
  return (Array.isArray(value) ? value.join(',') : value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
}

function connectionTokens(value: string | string[] | undefined): Set<string> {
  return new Set(commaList(value).map((token) => token.toLowerCase()));
}

function forwardedHeaders(ctx: Context): Record<string, string | string[]> {
  const connectionNamed = connectionTokens(ctx.headers.connection);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_FORWARDED.has(name) || connectionNamed.has(name) || name.startsWith('sec-')) continue;
    headers[name] = value;
  }
  return headers;
}

class TooLarge extends Error {}

/** Passes a body through, failing once it exceeds `max` bytes. */
function limit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > max) callback(new TooLarge());
      else callback(null, chunk);
    },
  });
}
