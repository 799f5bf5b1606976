// Subscribers to oidc-provider's events: the log lines operators read (refusals with their OAuth
// code, server errors with the request id, reuse, back-channel failures) and the token metrics.
// Handlers never log request parameters, only codes and descriptions.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

const REFUSALS = ['grant.error', 'introspection.error', 'revocation.error', 'end_session.error', 'authorization.error', 'userinfo.error'] as const;

interface OAuthErrorLike {
  readonly error?: string;
  readonly error_description?: string;
  readonly error_detail?: string;
}

export function logReuse(logger: Logger, fields: Record<string, unknown>): void {
  logger.warn({ event: 'grant.reuse_detected', ...fields }, 'one-time credential reused; its grant was revoked');
}

export function subscribeToProviderEvents(provider: Provider, deps: { logger: Logger; metrics: Metrics; clientIds: ReadonlySet<string> }): void {
  const { logger, metrics, clientIds } = deps;
  const events = provider as unknown as NodeJS.EventEmitter;

  const countToken = (ctx: KoaContextWithOIDC, result: string) => {
    const clientId = ctx.oidc?.client?.clientId;
    metrics.tokens.inc({ grant_type: String(ctx.oidc?.params?.grant_type ?? 'unknown'), client_id: clientId && clientIds.has(clientId) ? clientId : 'unknown', result });
  };
  events.on('grant.success', (ctx: KoaContextWithOIDC) => countToken(ctx, 'issued'));

  for (const event of REFUSALS) {
    events.on(event, (ctx: KoaContextWithOIDC, err: OAuthErrorLike) => {
      logger.info({ reqId: ctx.state?.requestId, event, error: err.error, description: err.error_description, detail: err.error_detail }, 'request refused');
      if (event !== 'grant.error') return;
      countToken(ctx, err.error ?? 'error');
      // oidc-provider found the code or refresh token already consumed and revoked the grant.
      if (/already (used|consumed)/.test(err.error_detail ?? '')) logReuse(logger, { reqId: ctx.state?.requestId, clientId: ctx.oidc?.client?.clientId });
    });
  }

  events.on('backchannel.error', (ctx: KoaContextWithOIDC, err: Error, client: { clientId: string }) => {
    logger.warn({ event: 'backchannel_logout.failed', reqId: ctx.state?.requestId, clientId: client.clientId, reason: err.message }, 'back-channel logout failed');
  });
  events.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => logger.error({ reqId: ctx.state?.requestId, err, path: ctx.path }, 'server_error'));
}
