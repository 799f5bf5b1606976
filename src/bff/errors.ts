// The BFF's errors, shaped in one place: JSON bodies `{error, error_description}` with the status a
// SPA branches on (401: navigate to login; 403: refused by the CSRF defence). Never a stack, never a token.
import type { Context } from 'koa';

import { JsonError } from '../http/json-error.ts';
import { safeDescription } from '../orchestration/hook-points.ts';

export class BffError extends JsonError {
  override readonly name = 'BffError';
}

export const invalidRequest = (description: string) => new BffError(400, 'invalid_request', description);
/** No session (or an ended one): the SPA navigates to `login`. */
export const unauthenticated = (description = 'sign in first') => new BffError(401, 'unauthenticated', description);
export const forbidden = (description: string) => new BffError(403, 'forbidden', description);

/** Runs a BFF handler: its BffErrors become JSON; anything else goes on to the edge's error boundary. */
export async function answering(ctx: Context, handler: () => Promise<void>): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  try {
    await handler();
  } catch (err) {
    if (!(err instanceof BffError)) throw err;
    ctx.status = err.status;
    for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
    ctx.body = { error: err.error, error_description: safeDescription(err.description) };
  }
}
