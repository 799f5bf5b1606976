// Passthrough's OAuth errors, shaped in one place: RFC 6749 section 5.2 bodies (401 with
// WWW-Authenticate for invalid_client), RFC 6750 section 3 for the bearer-protected userinfo, and
// the 503 a caller gets when the upstream cannot be reached. Never a stack, never a token.
import type { Context } from 'koa';

import { JsonError } from '../http/json-error.ts';
import { safeDescription } from '../orchestration/hook-points.ts';
import { HookError } from '../orchestration/hooks/index.ts';

export class PassthroughError extends JsonError {
  override readonly name = 'PassthroughError';
}

export const invalidRequest = (description: string) => new PassthroughError(400, 'invalid_request', description);
export const invalidGrant = (description: string) => new PassthroughError(400, 'invalid_grant', description);
export const unavailable = (description: string) => new PassthroughError(503, 'temporarily_unavailable', description, { 'Retry-After': '5' });

/** RFC 6749 section 5.2: 401 with a challenge of the scheme the client used (Basic when it used the header). */
export function invalidClient(description: string, realm: string, usedBasic: boolean): PassthroughError {
  return new PassthroughError(401, 'invalid_client', description, { 'WWW-Authenticate': usedBasic ? `Basic realm="${realm}"` : `Bearer realm="${realm}"` });
}

/** RFC 6750 section 3: no token at all gets a bare challenge; a bad one names the error. */
export function bearerError(realm: string, error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope', description?: string): PassthroughError {
  const status = error === 'insufficient_scope' ? 403 : error === 'invalid_request' ? 400 : 401;
  const params = [`realm="${realm}"`, ...(error ? [`error="${error}"`] : []), ...(description ? [`error_description="${safeDescription(description)}"`] : [])];
  return new PassthroughError(status, error ?? 'invalid_token', description ?? 'an access token is required', { 'WWW-Authenticate': `Bearer ${params.join(', ')}` });
}

/**
 * Runs a passthrough handler: its PassthroughErrors and failing hooks become JSON error bodies;
 * anything else goes on to the edge's error boundary (server_error with the request id).
 */
export async function answering(ctx: Context, handler: () => Promise<void>): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  try {
    await handler();
  } catch (err) {
    if (err instanceof HookError) {
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: safeDescription(err.message) };
      return;
    }
    if (!(err instanceof PassthroughError)) throw err;
    ctx.status = err.status;
    for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
    ctx.body = { error: err.error, error_description: safeDescription(err.description) };
  }
}
