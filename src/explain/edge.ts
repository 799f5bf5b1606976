// Where traces begin and end: at the edge, for the requests that decide (token endpoint, sign-in
// and its callback, passthrough, BFF). The recorder runs through the request (on oidc-provider's
// store, trace-context.ts); at the end the response completes it (the RFC error the client got) and
// it is stored in the background, after any shadow authorizer settles: the client never waits for
// it. Only built when `explain.enabled`; otherwise the edge has no recorder at all.
import type { Context } from 'koa';

import { OIDC_SCOPES, type ExplainConfig } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Redactor } from './redact.ts';
import { TraceRecorder } from './recorder.ts';
import type { TraceRequest } from './trace.ts';
import type { TraceStore } from './store.ts';
import type { TraceEndpoint } from './trace.ts';

export interface ExplainEdge {
  /** A recorder for this request, or undefined when its route decides nothing. */
  begin(ctx: Context): TraceRecorder | undefined;
  /** Completes the trace from the response and stores it (never throws, never delays the response). */
  finish(ctx: Context, recorder: TraceRecorder): void;
  /** The lean token path's traces (http/lean-token.ts): its context answers as a response does here. */
  readonly lean: {
    start(requestId: string, at: number, issuedId: boolean): TraceRecorder;
    /** `answered`: the context to complete the trace from (absent: the grant recorded it all). */
    finish(recorder: TraceRecorder, answered?: object): void;
  };
}

export interface ExplainEdgeOptions {
  readonly config: ExplainConfig;
  readonly traces: TraceStore;
  readonly redact: Redactor;
  readonly logger: Logger;
  readonly tokenPath: string;
  readonly authorizationPath: string;
  readonly passthroughPrefix: string;
  readonly bffPrefix: string;
  /** Uniform in [0, 1); injected for tests. */
  readonly random?: () => number;
}

export function explainEdge(options: ExplainEdgeOptions): ExplainEdge {
  const { config, traces, redact, logger, random = Math.random } = options;
  const endpointOf = (path: string): TraceEndpoint | undefined => {
    const lower = path.toLowerCase();
    if (lower === options.tokenPath) return 'token';
    if (lower === options.authorizationPath || lower.startsWith('/interaction/') || lower.startsWith('/callback/')) return 'authorization';
    if (lower.startsWith(options.passthroughPrefix)) return 'passthrough';
    if (lower.startsWith(options.bffPrefix)) return 'bff';
    return undefined;
  };
  return {
    begin(ctx) {
      const endpoint = endpointOf(ctx.path);
      if (!endpoint) return undefined;
      const requestId = String(ctx.state.requestId);
      // Issued by Baton unless the client or a proxy sent it (request-log.ts keeps a well-formed X-Request-Id).
      const recorder = new TraceRecorder(requestId, Date.now(), redact, ctx.get('x-request-id') !== requestId);
      recorder.request({ endpoint });
      return recorder;
    },
    finish(ctx, recorder) {
      completeFromResponse(ctx, recorder);
      keep(recorder);
    },
    lean: {
      start(requestId, at, issuedId) {
        const recorder = new TraceRecorder(requestId, at, redact, issuedId);
        recorder.request({ endpoint: 'token' });
        return recorder;
      },
      finish(recorder, answered) {
        if (answered) completeFromResponse(answered, recorder);
        keep(recorder);
      },
    },
  };

  /** Stores a decided request's trace: every refusal, and a sample of the rest (batched: TraceStore.enqueue). */
  function keep(recorder: TraceRecorder): void {
    if (!recorder.relevant) return;
    if (!recorder.refused && !(config.sample >= 1 || random() < config.sample)) return;
    if (!recorder.waiting) return traces.keep(recorder);
    void recorder.settled()
      .then(() => traces.keep(recorder))
      .catch((err: unknown) => logger.error({ event: 'explain.store_failed', reqId: recorder.requestId, err }, 'storing the decision trace failed'));
  }
}

interface OidcView {
  readonly route?: string;
  readonly params?: Record<string, unknown>;
  readonly client?: { readonly clientId: string };
}

/**
 * What only the response and the provider's parsed request tell: the grant, the client, the error
 * sent. `ctx` is Koa's, or the lean token path's context once it answered (status, body, oidc).
 */
export function completeFromResponse(answered: object, recorder: TraceRecorder): void {
  const ctx = answered as Context;
  const oidc = (ctx as unknown as { oidc?: OidcView }).oidc;
  const endpoint = recorder.requested?.endpoint;
  const error = responseError(ctx);
  if (endpoint === 'token' && oidc) {
    const params = oidc.params ?? {};
    const text = (name: string) => (typeof params[name] === 'string' ? params[name] as string : undefined);
    const scopes = text('scope')?.split(' ').filter(Boolean);
    const resources = params.resource === undefined ? [] : [params.resource].flat().filter((r): r is string => typeof r === 'string');
    // A client that failed to authenticate is only named, not known (oidc-provider sets `client`
    // before it checks the credentials): such a trace is nobody's, or anyone naming a client could
    // plant one its real client reads (under an X-Request-Id it expects). The readers still see it.
    const clientId = error?.error === 'invalid_client' ? undefined : oidc.client?.clientId ?? text('client_id');
    // Without a `scope` parameter, the code's, device code's or refresh token's scopes were asked.
    const source = (oidc as { entities?: Record<string, { scopes?: Set<string> } | undefined> }).entities;
    const redeemed = source?.AuthorizationCode ?? source?.DeviceCode ?? source?.RefreshToken;
    const asked = scopes ?? (redeemed?.scopes ? [...redeemed.scopes] : undefined);
    const request: { -readonly [K in keyof TraceRequest]?: TraceRequest[K] } = {};
    if (clientId !== undefined) request.clientId = clientId;
    if (text('grant_type') !== undefined) request.grantType = text('grant_type');
    if (asked) request.scopes = asked;
    if (text('subject_token_type') !== undefined) request.subjectTokenType = text('subject_token_type');
    if (text('actor_token_type') !== undefined) request.actorTokenType = text('actor_token_type');
    recorder.request(request);
    for (const resource of resources) recorder.addResource(resource);
  }
  if (error) {
    // Every refusal at a token endpoint (Baton's or a passthrough's); elsewhere (pages, the BFF's
    // API proxy) only those of a request that decided something.
    const tokenEndpoint = endpoint === 'token' || (endpoint === 'passthrough' && ctx.path.toLowerCase().endsWith('/token'));
    if (recorder.refused || tokenEndpoint || recorder.relevant) recorder.answered(error.error, error.description);
    return;
  }
  if (endpoint === 'token' && ctx.status === 200) grantedOidcScopes(ctx, recorder);
}

/** The RFC error of the response: a JSON error body, or an error redirect to the client. */
function responseError(ctx: Context): { error: string; description?: string } | undefined {
  if (ctx.status >= 400) {
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    if (body && typeof body === 'object' && typeof body.error === 'string') {
      return { error: body.error, ...(typeof body.error_description === 'string' ? { description: body.error_description } : {}) };
    }
    return undefined;
  }
  const location = ctx.status >= 300 && ctx.status < 400 ? ctx.response.get('location') : '';
  if (!location || !location.includes('error=')) return undefined;
  try {
    const url = new URL(location);
    const params = url.hash.length > 1 && !url.searchParams.has('error') ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
    const error = params.get('error');
    const description = params.get('error_description');
    return error ? { error, ...(description ? { description } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * OpenID scopes the token response grants (no resource decided them; the client's configuration
 * allowed them): those of the response, and the OpenID scopes of the code or refresh token redeemed
 * (with a resource, the response's `scope` is the access token's).
 */
function grantedOidcScopes(ctx: Context, recorder: TraceRecorder): void {
  const body = ctx.body as { scope?: unknown } | undefined;
  const entities = (ctx as unknown as { oidc?: { entities?: Record<string, { scopes?: Set<string> } | undefined> } }).oidc?.entities ?? {};
  const source = entities.AuthorizationCode ?? entities.DeviceCode ?? entities.RefreshToken;
  const granted = [
    ...(typeof body?.scope === 'string' ? body.scope.split(' ').filter(Boolean) : []),
    ...[...(source?.scopes ?? [])].filter((scope) => (OIDC_SCOPES as readonly string[]).includes(scope)),
  ];
  for (const scope of granted) if (!recorder.hasScope(scope)) recorder.scope({ scope, granted: true, by: 'client' });
  const asked = recorder.requested?.scopes ?? [];
  for (const scope of asked) if (!granted.includes(scope) && !recorder.hasScope(scope)) recorder.scope({ scope, granted: false, by: 'client' });
}
