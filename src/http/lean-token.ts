// The lean token path: `POST {token path}` for the machine grants answered by a raw node:http
// handler in front of the Koa application, with the same request id, access log line, headers,
// events and trace as the full pipeline (edge.ts + oidc-provider). It answers successes only; any
// request it cannot answer identically, every error among them, goes to the full pipeline with its
// body and the steps already run handed over (lean-handoff.ts), so errors are the pipeline's own.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseForm } from 'node:querystring';

import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import { TraceRecorder, withTrace } from '../explain/recorder.ts';
import type { LeanContext, LeanResult } from '../grants/lean-client-credentials.ts';
import type { Logger } from '../observability/logger.ts';
import { endRequest } from '../observability/request-log.ts';
import { handOver, newSteps, withSteps, type LeanSteps } from './lean-handoff.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
export type LeanGrant = (ctx: LeanContext, headers: IncomingHttpHeaders, params: Readonly<Record<string, string>>) => Promise<LeanResult>;

/** Decision traces (issue 15): started per request like the edge does, stored when the request ends. */
export interface LeanTraces {
  start(requestId: string, at: number): TraceRecorder | undefined;
  finish(recorder: TraceRecorder): void;
}

export interface LeanTokenOptions {
  readonly provider: Provider;
  readonly accessLogger: Logger;
  /** The grants answered here, by grant_type. */
  readonly grants: ReadonlyMap<string, LeanGrant>;
  readonly traces?: LeanTraces;
}

/** A machine grant request is a few hundred bytes; anything larger goes the full way. */
const MAX_BODY = 4096;
const FORM = /^application\/x-www-form-urlencoded\s*(?:;\s*charset="?utf-8"?\s*)?$/i;
/** Same as request-log.ts: an inbound id is kept when it is this shape. */
const INBOUND_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Headers the lean path leaves to the full pipeline (CORS, DPoP, attestation, chunked bodies). */
function eligible(headers: IncomingHttpHeaders): boolean {
  return headers.origin === undefined && headers.dpop === undefined && headers['transfer-encoding'] === undefined
    && headers['oauth-client-attestation'] === undefined && headers['oauth-client-attestation-pop'] === undefined
    && FORM.test(headers['content-type'] ?? '');
}

/** One value per parameter, none empty (oidc-provider reads '' as absent), or undefined. */
function singleValued(body: Buffer): Record<string, string> | undefined {
  const parsed = parseForm(body.toString());
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string' || value === '') return undefined;
    params[key] = value;
  }
  return params;
}

/** Wraps `full` (the Koa application's callback) with the lean path for `tokenPath`. */
export function leanTokenPath(tokenPath: string, full: Handler, options: LeanTokenOptions): Handler {
  const { provider, accessLogger, grants, traces } = options;

  /** Koa's own `request.ip` (proxy trust and maxIpsCount included), without a context. */
  const clientIp = (req: IncomingMessage): string | undefined => {
    try {
      return Object.assign(Object.create(provider.request) as { ip: string }, { req, app: provider }).ip;
    } catch {
      return undefined;
    }
  };

  async function answer(req: IncomingMessage, res: ServerResponse, body: Buffer, started: number): Promise<void> {
    const params = singleValued(body);
    const grant = params && grants.get(params.grant_type ?? '');
    if (!params || !grant) return fallback(req, res, body);
    const inbound = req.headers['x-request-id'];
    const requestId = typeof inbound === 'string' && INBOUND_ID.test(inbound) ? inbound : randomUUID();
    const steps = newSteps();
    const recorder = traces?.start(requestId, Date.now());
    const entities: Record<string, unknown> = {};
    const ctx: LeanContext = withSteps({
      method: 'POST', path: tokenPath, req, state: { requestId },
      oidc: { route: 'token', provider, params: {}, entities, entity: (name: string, value: unknown) => { entities[name] = value; } },
    }, steps);
    let result: LeanResult;
    try {
      result = recorder ? await withTrace(recorder, () => grant(ctx, req.headers, params)) : await grant(ctx, req.headers, params);
    } catch {
      // The full pipeline answers (and logs) the error, from the steps already run.
      result = { fallback: true };
    }
    if (result.fallback) return fallback(req, res, body, steps, requestId, recorder);

    ctx.body = result.body;
    provider.emit('grant.success', ctx);
    const json = JSON.stringify(result.body);
    // The headers the full pipeline sends, in its order (edge.ts, cors.js, no_cache.js, Koa's respond).
    res.statusCode = 200;
    res.setHeader('X-Request-Id', requestId);
    // oidc-provider's CORS for the token endpoint without an Origin (DPoP and attestation are off in Baton).
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(json));
    res.end(json);
    endRequest(accessLogger, { state: ctx.state, method: 'POST', path: tokenPath, oidc: ctx.oidc, status: 200, ip: clientIp(req) } as unknown as Context, started);
    if (recorder) traces?.finish(recorder);
  }

  function fallback(req: IncomingMessage, res: ServerResponse, body?: Buffer, steps?: LeanSteps, requestId?: string, recorder?: TraceRecorder): void {
    const ran = steps !== undefined && (steps.decisions.size > 0 || steps.claims !== undefined);
    // Steps ran under this request id: the pipeline keeps it (an inbound one it would keep anyway).
    if (ran && requestId !== undefined) req.headers['x-request-id'] = requestId;
    handOver(req, body, ran ? { ...steps, ...(recorder ? { trace: recorder } : {}) } : undefined);
    full(req, res);
  }

  return function leanToken(req, res) {
    const length = Number(req.headers['content-length']);
    if (req.method !== 'POST' || req.url !== tokenPath || !eligible(req.headers) || !Number.isInteger(length) || length > MAX_BODY) {
      full(req, res);
      return;
    }
    const started = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      answer(req, res, Buffer.concat(chunks), started).catch((err: unknown) => {
        // Only a failure to write the response can land here: the socket is gone.
        if (!res.headersSent) res.destroy(err as Error);
      });
    });
    // A client that goes away mid-body: nothing to answer.
    req.once('error', () => res.destroy());
  };
}
