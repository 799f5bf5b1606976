// The lean token path: `POST {token path}` for client_credentials, token exchange, code redemption and
// refresh, answered by a raw node:http handler in front of Koa with the full pipeline's request id,
// headers, events, access log and trace, and oidc-provider's own request context for its grant handlers.
// Whatever it cannot answer identically goes to the full pipeline, body and steps handed over (lean-handoff.ts).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseForm } from 'node:querystring';

import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import errOut from 'oidc-provider/lib/helpers/err_out.js';

import { TraceRecorder } from '../explain/recorder.ts';
import { traceOnContext } from '../explain/trace-context.ts';
import type { LeanContext, LeanResult } from '../grants/lean-client-credentials.ts';
import { merged } from '../lang/merged.ts';
import type { Logger } from '../observability/logger.ts';
import { endRequest, requestIdFrom } from '../observability/request-log.ts';
import { rfcErrorCode } from './errors.ts';
import { handOver, newSteps, withSteps, type LeanSteps } from './lean-handoff.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
export type LeanGrant = (ctx: LeanContext, headers: IncomingHttpHeaders, params: Readonly<Record<string, string>>) => Promise<LeanResult>;

/** Decision traces (issue 15): started per request like the edge does, stored when the request ends. */
export interface LeanTraces {
  start(requestId: string, at: number, issuedId: boolean): TraceRecorder | undefined;
  /** Completes the trace from the answer, if given, as the edge does from a response (explain/edge.ts), and stores it. */
  finish(recorder: TraceRecorder, answered?: LeanContext): void;
}

export interface LeanTokenOptions {
  readonly provider: Provider;
  readonly accessLogger: Logger;
  /** The grants answered here, by grant_type. */
  readonly grants: ReadonlyMap<string, LeanGrant>;
  readonly traces?: LeanTraces;
  /** Whether storage is down: a server_error then becomes 503 temporarily_unavailable (as edge.ts does). */
  readonly storageDown?: () => Promise<boolean>;
}

/** A machine grant request is a few hundred bytes; anything larger goes the full way. */
const MAX_BODY = 4096;
const FORM = /^application\/x-www-form-urlencoded\s*(?:;\s*charset="?utf-8"?\s*)?$/i;

/** Headers the lean path leaves to the full pipeline (CORS, DPoP, attestation, chunked bodies). */
function eligible(headers: IncomingHttpHeaders): boolean {
  return headers.origin === undefined && headers.dpop === undefined && headers['transfer-encoding'] === undefined
    && headers['oauth-client-attestation'] === undefined && headers['oauth-client-attestation-pop'] === undefined
    && FORM.test(headers['content-type'] ?? '');
}

/** One value per parameter, none empty (oidc-provider reads '' as absent), or undefined. */
export function singleValued(body: Buffer): Record<string, string> | undefined {
  const text = body.toString();
  const fast = splitForm(text);
  if (fast !== FORM_UNREAD) return fast;
  const parsed = parseForm(text);
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string' || value === '') return undefined;
    params[key] = value;
  }
  return params;
}

const FORM_UNREAD = Symbol('form left to querystring');
/** querystring.parse's default limit: pairs past it are dropped, so such a body is left to it. */
const MAX_PAIRS = 1000;

/**
 * What `singleValued` makes of querystring.parse's answer, reached without its character loop (the
 * largest single cost of reading a token request, whose subject_token is hundreds of characters):
 * split at `&` and the first `=`, `+` as space, then decodeURIComponent. Where their answers could
 * differ (a malformed escape, which querystring keeps as it is; a `__proto__` parameter; more pairs
 * than its limit) FORM_UNREAD leaves the body to querystring.
 */
function splitForm(text: string): Record<string, string> | undefined | typeof FORM_UNREAD {
  const pairs = text.split('&');
  if (pairs.length >= MAX_PAIRS) return FORM_UNREAD;
  const params: Record<string, string> = {};
  let single = true;
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = formDecode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : formDecode(pair.slice(eq + 1));
    if (key === undefined || value === undefined || key === '__proto__') return FORM_UNREAD;
    // Repeated (querystring: an array) or empty: not single-valued, whatever else the body holds.
    if (value === '' || Object.hasOwn(params, key)) single = false;
    else params[key] = value;
  }
  return single ? params : undefined;
}

/** `+` as space, then percent-escapes; undefined where decodeURIComponent refuses (querystring would not). */
function formDecode(part: string): string | undefined {
  const spaced = part.includes('+') ? part.replaceAll('+', ' ') : part;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return undefined;
  }
}

/** Wraps `full` (the Koa application's callback) with the lean path for `tokenPath`. */
export function leanTokenPath(tokenPath: string, full: Handler, options: LeanTokenOptions): Handler {
  const { provider, accessLogger, grants, traces, storageDown } = options;

  /** Koa's own request object for `req` (its getters: proxy trust, content negotiation), without a context. */
  const koaRequest = (req: IncomingMessage) => Object.assign(Object.create(provider.request) as { ip: string; get(name: string): string; accepts(...types: string[]): string | false }, { req, app: provider });

  /** Koa's own `request.ip` (proxy trust and maxIpsCount included). */
  const clientIp = (req: IncomingMessage): string | undefined => {
    try {
      return koaRequest(req).ip;
    } catch {
      return undefined;
    }
  };

  /**
   * Whether oidc-provider's error handler would render its HTML error page for this request (it asks
   * `ctx.accepts('json', 'html')`, with q-values and wildcards): such a request is the full pipeline's.
   */
  const mayPreferHtml = (req: IncomingMessage): boolean => {
    const accept = req.headers.accept;
    return accept !== undefined && accept !== 'application/json' && koaRequest(req).accepts('json', 'html') === 'html';
  };

  async function answer(req: IncomingMessage, res: ServerResponse, body: Buffer, params: Record<string, string>, grant: LeanGrant, started: number): Promise<void> {
    const inbound = req.headers['x-request-id'];
    const requestId = requestIdFrom(inbound);
    const steps = newSteps();
    const recorder = traces?.start(requestId, Date.now(), requestId !== inbound);
    const ctx = withSteps({
      method: 'POST', path: tokenPath, req, headers: req.headers, state: { requestId }, _matchedRouteName: 'token',
      // Koa's ctx.get (the DPoP and attestation checks read headers through it).
      get: (name: string) => koaRequest(req).get(name),
    } as unknown as LeanContext, steps);
    // oidc-provider's own request context, as its ensureOIDC middleware makes it: the grant handlers read it.
    Object.defineProperty(ctx, 'oidc', { value: Object.assign(new provider.OIDCContext(ctx as never), { params: {} }) });
    let result: LeanResult;
    try {
      // The grant runs its steps inside oidc-provider's store with this context (recorder.ts).
      if (recorder) traceOnContext(ctx, recorder);
      result = await grant(ctx, req.headers, params);
    } catch {
      // The full pipeline answers (and logs) the error, from the steps already run.
      result = { fallback: true };
    }
    if (result.fallback) return fallback(req, res, body, steps, requestId, recorder);

    let status = 200;
    let retryAfter = false;
    if ('error' in result) {
      // oidc-provider's error_handler.js for the token route, then edge.ts's corrections.
      const err = result.error as { statusCode?: number; error_description?: unknown };
      const out = errOut(err as Parameters<typeof errOut>[0]) as Record<string, unknown>;
      status = err.statusCode || 500;
      ctx.body = out;
      provider.emit(out.error === 'server_error' ? 'server_error' : 'grant.error', ctx, err);
      if (status === 400) out.error = rfcErrorCode(out.error, out.error_description);
      if (status === 500 && out.error === 'server_error' && storageDown && (await storageDown())) {
        status = 503;
        retryAfter = true;
        ctx.body = { error: 'temporarily_unavailable', error_description: `the service is temporarily unavailable; try again later (request ${requestId})` };
      }
    } else {
      ctx.body = result.body;
      provider.emit('grant.success', ctx);
    }
    ctx.status = status;
    const json = JSON.stringify(ctx.body);
    // The headers the full pipeline sends, in its order (edge.ts, cors.js, no_cache.js, Koa's respond).
    res.statusCode = status;
    res.setHeader('X-Request-Id', requestId);
    // oidc-provider's CORS for the token endpoint without an Origin (DPoP and attestation are off in Baton).
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    if (retryAfter) res.setHeader('Retry-After', '5');
    res.setHeader('Content-Length', Buffer.byteLength(json));
    res.end(json);
    endRequest(accessLogger, { state: ctx.state, method: 'POST', path: tokenPath, oidc: ctx.oidc, status, ip: clientIp(req) } as unknown as Context, started);
    if (recorder) traces?.finish(recorder, 'traced' in result ? undefined : ctx);
  }

  function fallback(req: IncomingMessage, res: ServerResponse, body?: Buffer, steps?: LeanSteps, requestId?: string, recorder?: TraceRecorder): void {
    const ran = steps !== undefined && (steps.decisions.size > 0 || steps.claims !== undefined);
    // Steps ran under this request id: the pipeline keeps it (an inbound one it would keep anyway).
    if (ran && requestId !== undefined) req.headers['x-request-id'] = requestId;
    handOver(req, body, ran ? merged(steps, recorder ? { trace: recorder } : {}) : undefined);
    full(req, res);
  }

  return function leanToken(req, res) {
    const length = Number(req.headers['content-length']);
    if (req.method !== 'POST' || req.url !== tokenPath || !eligible(req.headers) || mayPreferHtml(req) || !Number.isInteger(length) || length > MAX_BODY) {
      full(req, res);
      return;
    }
    const started = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      const body = Buffer.concat(chunks);
      const params = singleValued(body);
      const grant = params && grants.get(params.grant_type ?? '');
      // Every other grant (the user grants) goes on to the full pipeline at once, body handed over.
      if (!params || !grant) {
        fallback(req, res, body);
        return;
      }
      answer(req, res, body, params, grant, started).catch((err: unknown) => {
        // Only a failure to write the response can land here: the socket is gone.
        if (!res.headersSent) res.destroy(err as Error);
      });
    });
    // A client that goes away mid-body: nothing to answer.
    req.once('error', () => res.destroy());
  };
}
