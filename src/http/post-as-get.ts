// POST to the authorization endpoint (OIDC Core section 3.1.2.1: MUST support GET and POST) and to
// the end-session endpoint (RP-Initiated Logout 1.0 section 2, likewise): the form is answered with
// a 303 to the same endpoint carrying the form as its query, which oidc-provider then serves as GET.
//
// Why not oidc-provider's own POST support (`enableHttpPostMethods`): it requires the session cookie
// to be SameSite=None, since a cross-site form POST carries no SameSite=Lax cookie. The redirect is a
// top-level GET navigation, which does carry Lax cookies: single sign-on keeps working and the session
// cookie keeps its CSRF protection.
import type { Context, Next } from 'koa';
import { errors } from 'oidc-provider';

import type { Logger } from '../observability/logger.ts';
import { BodyTooLarge, readBounded } from './body.ts';
import { errorBoundary } from './errors.ts';
import type { RouteResolver } from './provider-route.ts';

/** Larger than any authorization request without a request object (which Baton does not support). */
const MAX_FORM_BYTES = 16 * 1024;

export interface PostAsGetOptions {
  readonly resolveRoute: RouteResolver;
  /** The provider's route names served this way. */
  readonly routes: readonly string[];
  readonly logger: Logger;
}

export function postAsGet({ resolveRoute, routes, logger }: PostAsGetOptions) {
  const served = new Set(routes);
  const boundary = errorBoundary(logger);
  // Every other request passes straight on, without an async frame of its own.
  return function redirectPostToGet(ctx: Context, next: Next): Promise<void> {
    // The provider's router has no POST route for these: resolve the path as the GET it becomes.
    if (ctx.method !== 'POST' || !served.has(resolveRoute('GET', ctx.path) ?? '')) return next();
    return boundary(ctx, async () => {
      // OIDC Core section 3.1.2.1: "using Form Serialization", and nothing else.
      if (!ctx.is('application/x-www-form-urlencoded')) throw new errors.InvalidRequest('only application/x-www-form-urlencoded content-type bodies are supported');
      let form: URLSearchParams;
      try {
        form = new URLSearchParams((await readBounded(ctx.req, MAX_FORM_BYTES)).toString('utf8'));
      } catch (err) {
        if (!(err instanceof BodyTooLarge)) throw err;
        ctx.set('Connection', 'close');
        throw Object.assign(new errors.InvalidRequest(err.message), { statusCode: 413 });
      }
      // The form alone is the request, as with oidc-provider's own POST parsing: a query on the POST is ignored.
      ctx.status = 303;
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(`${ctx.path}?${form.toString()}`);
    });
  };
}
