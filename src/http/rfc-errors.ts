// Where oidc-provider's error code differs from the one the RFC names, correct it on the way out.
// RFC 6749 section 5.2: a client using a grant type it is not registered for is `unauthorized_client`
// (oidc-provider answers `invalid_request`).
import type { Context, Next } from 'koa';

const GRANT_NOT_ALLOWED = 'requested grant type is not allowed for this client';

export async function rfcErrorCodes(ctx: Context, next: Next): Promise<void> {
  await next();
  const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
  if (ctx.status === 400 && body?.error === 'invalid_request' && body.error_description === GRANT_NOT_ALLOWED) {
    body.error = 'unauthorized_client';
  }
}
