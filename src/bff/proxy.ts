// `ANY api/{route}/...`: the BFF's API proxy (RFC 10017 section 6.1.3.1). Only configured routes and
// methods; the browser's Cookie and Authorization never pass, hop-by-hop headers (RFC 9110 section
// 7.6.1) are dropped both ways, bodies stream under a size limit and a deadline, and the route's
// token is attached here: the user's (refreshed first when near expiry; once more after an API's 401
// on a bodiless request), the client's, or none. Nothing the API sets as a cookie reaches the browser.
import { Transform, type Readable } from 'node:stream';

import type { Context } from 'koa';

import type { BffRouteConfig } from '../config/bff.ts';
import { merged } from '../lang/merged.ts';
import type { BffDeps, BffEntry } from './entries.ts';
import { BffError } from './errors.ts';
import { currentSession } from './session-endpoints.ts';
import type { TokenSource } from './tokens.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Request headers the API never sees: the browser's credentials, the CSRF marker, and what the edge sets itself. */
const NOT_FORWARDED = new Set(['host', 'cookie', 'authorization', 'x-csrf', 'origin', 'referer', 'content-length', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
const EMPTY_STATUSES = new Set([204, 205, 304]);
/** Response headers the browser never sees from an API. */
const NOT_RETURNED = new Set(['set-cookie', 'set-cookie2', 'content-length']);

/** The route and the rest of the path; `..`, `.` and encoded slashes cannot climb out of the route's base. */
export function target(route: BffRouteConfig, rest: string, search: string): URL {
  const segments = rest.split('/');
  if (segments.some((s) => /^(\.|%2e){1,2}$/i.test(s) || /%2f|%5c/i.test(s) || s.includes('\\'))) {
    throw new BffError(400, 'invalid_request', 'the path must not contain dot segments or encoded slashes');
  }
  const url = new URL(route.url);
  url.pathname = `${url.pathname.replace(/\/$/, '')}${rest ? `/${rest}` : ''}`;
  url.search = search;
  return url;
}

export async function proxy(ctx: Context, deps: BffDeps, entry: BffEntry, tokens: TokenSource, route: BffRouteConfig, rest: string): Promise<void> {
  const method = ctx.method.toUpperCase();
  if (!route.methods.includes(method as never)) throw new BffError(405, 'method_not_allowed', `${method} is not allowed on this route`, { Allow: route.methods.join(', ') });
  const session = route.token === 'user' ? await currentSession(ctx, deps, entry) : undefined;
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
    const authorization = route.token === 'user' ? (await tokens.user(entry, session!, route.resource!, rejected)).token : route.token === 'client-credentials' ? await tokens.client(entry, route.resource!) : undefined;
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
    if (value === undefined || HOP_BY_HOP.has(lower) || NOT_RETURNED.has(lower) || connectionNamed.has(lower)) continue;
    ctx.set(name, value as string | string[]);
  }
  ctx.set('Cache-Control', response.headers['cache-control'] as string | undefined ?? 'no-store');
  if (method === 'HEAD' || EMPTY_STATUSES.has(response.statusCode)) {
    // No body goes out: release the connection instead of leaving the API's stream unread.
    await response.body.dump();
    return;
  }
  ctx.body = response.body as unknown as Readable;
}

function connectionTokens(value: string | string[] | undefined): Set<string> {
  return new Set((Array.isArray(value) ? value.join(',') : value ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
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
