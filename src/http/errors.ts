// The one error shape for Baton's own routes (the provider's routes have oidc-provider's handler):
// RFC 6749 section 5.2 JSON for API callers, the error page for browsers, `server_error` with the
// request id for anything unexpected, whose detail goes to the log only. Also corrects the one
// error code where oidc-provider differs from the RFC.
import type { Context, Next } from 'koa';

import { html, page } from './html.ts';
import type { Logger } from '../observability/logger.ts';

interface ExposedError {
  readonly error: string;
  readonly error_description?: string;
  readonly statusCode: number;
  readonly expose: true;
}

function isExposedOAuthError(err: unknown): err is ExposedError {
  const e = err as Partial<ExposedError> | null;
  return typeof e?.error === 'string' && typeof e.statusCode === 'number' && e.statusCode < 500 && e.expose === true;
}

function isHttpClientError(err: unknown): err is { status: number; message: string; expose: boolean } {
  const e = err as { status?: unknown; expose?: unknown } | null;
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true;
}

/**
 * RFC 6749 section 5.2: a client using a grant type it is not registered for is
 * `unauthorized_client`; oidc-provider answers `invalid_request` with this description.
 */
const GRANT_NOT_ALLOWED = 'requested grant type is not allowed for this client';

/**
 * The code the client receives for a provider error: the RFC's where oidc-provider's differs (see
 * GRANT_NOT_ALLOWED). Logs and metrics use it too, so they name the error the client saw.
 */
export function rfcErrorCode(error: unknown, description: unknown): unknown {
  return error === 'invalid_request' && description === GRANT_NOT_ALLOWED ? 'unauthorized_client' : error;
}

/** Rewrites a provider error body whose code differs from the RFC's (see rfcErrorCode). */
export function correctErrorCode(ctx: Context): void {
  if (ctx.status !== 400) return;
  const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
  const error = rfcErrorCode(body?.error, body?.error_description);
  if (body && error !== body.error) body.error = error;
}

/**
 * A `server_error` JSON answer given while a dependency is down (`down()`: storage fails its health
 * check) is `503 temporarily_unavailable` with `Retry-After` (RFC 6749 sections 4.1.2.1 and 5.2):
 * the client may retry, and nothing was spent. The cause is already in the log.
 */
export async function unavailableWhileDown(ctx: Context, down: () => Promise<boolean>): Promise<void> {
  const body = ctx.body as { error?: unknown } | undefined;
  if (ctx.status !== 500 || body?.error !== 'server_error' || !(await down())) return;
  ctx.status = 503;
  ctx.set('Retry-After', '5');
  ctx.body = { error: 'temporarily_unavailable', error_description: `the service is temporarily unavailable; try again later (request ${String(ctx.state.requestId ?? '')})` };
}

/** Error boundary around Baton's own routes. */
export function errorBoundary(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      const requestId = String(ctx.state.requestId ?? '');
      let body: { error: string; error_description: string };
      if (isExposedOAuthError(err)) {
        ctx.status = err.statusCode;
        body = { error: err.error, error_description: err.error_description ?? err.error };
      } else if (isHttpClientError(err)) {
        ctx.status = err.status;
        body = { error: 'invalid_request', error_description: err.message };
      } else {
        ctx.status = 500;
        body = { error: 'server_error', error_description: `internal error (request ${requestId})` };
        logger.error({ reqId: requestId, err, path: ctx.path }, 'server_error');
      }
      ctx.set('Cache-Control', 'no-store');
      if (ctx.accepts('json', 'html') === 'html') {
        ctx.type = 'html';
        ctx.body = page('Error', html`<h1>This request cannot be completed</h1><p>${body.error_description}</p>
          <p class="error-code">${body.error} · request ${requestId}</p>`);
      } else {
        ctx.body = body;
      }
    }
  };
}

/**
 * Errors Koa reports outside any middleware (a client that vanished mid-response, a body cut off by
 * `server.requestTimeout`) go to the log as one line, never as a stack trace on stderr (Koa's default
 * `app.onerror`). A client going away is routine and logged at debug level.
 */
export function logApplicationErrors(app: { on(event: 'error', listener: (err: unknown) => void): unknown }, logger: Logger): void {
  app.on('error', (err: unknown) => {
    const e = err as { code?: unknown; message?: unknown; status?: unknown } | null;
    const clientGone = e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || e?.code === 'ECONNABORTED' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE'
      || e?.message === 'Request timeout' || e?.message === 'request aborted' || e?.status === 408;
    if (clientGone) logger.debug({ code: e?.code, reason: e?.message }, 'client connection ended early');
    else logger.error({ err }, 'unhandled HTTP error');
  });
}
