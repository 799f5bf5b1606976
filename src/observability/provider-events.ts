// Subscribers to oidc-provider's events: the log lines operators read (refusals with their OAuth
// code, server errors with the request id, reuse, back-channel failures), the token metrics, and
// Baton's typed events for issued tokens and logouts. Never request parameters, only codes and descriptions.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { rfcErrorCode } from '../http/errors.ts';
import { jwtPayload, tokenRefs, type Actor, type Events } from './events.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

const REFUSALS = ['grant.error', 'introspection.error', 'revocation.error', 'end_session.error', 'authorization.error', 'userinfo.error'] as const;

interface OAuthErrorLike {
  readonly error?: string;
  readonly error_description?: string;
  readonly error_detail?: string;
}

export function reportReuse(logger: Logger, events: Events, fields: { model: string; clientId?: string; reqId?: string }): void {
  logger.warn({ event: 'grant.reuse_detected', ...fields }, 'one-time credential reused; its grant was revoked');
  events.emit('token.reuse_detected', fields);
}

export function subscribeToProviderEvents(provider: Provider, deps: { logger: Logger; metrics: Metrics; events: Events; clientIds: ReadonlySet<string> }): void {
  const { logger, metrics, events: bus, clientIds } = deps;
  const events = provider as unknown as NodeJS.EventEmitter;

  // Label values are bounded: unknown clients and grant types a caller made up count as one series each.
  const countToken = (ctx: KoaContextWithOIDC, result: string) => {
    const grantType = ctx.oidc?.params?.grant_type;
    metrics.countTokenRequest(typeof grantType === 'string' ? grantType : undefined, ctx.oidc?.client?.clientId, clientIds, result);
  };
  events.on('grant.success', (ctx: KoaContextWithOIDC) => {
    countToken(ctx, 'issued');
    announceIssue(ctx, bus);
  });
  events.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc?.session as { accountId?: string } | undefined;
    bus.emit('user.logged_out', {
      reqId: ctx.state?.requestId,
      ...(session?.accountId ? { sub: session.accountId } : {}),
      ...(ctx.oidc?.client ? { clientId: ctx.oidc.client.clientId } : {}),
    });
  });

  for (const event of REFUSALS) {
    events.on(event, (ctx: KoaContextWithOIDC, err: OAuthErrorLike) => {
      // The code the client receives (the edge corrects a few of the provider's, see rfcErrorCode).
      const error = rfcErrorCode(err.error, err.error_description) as string | undefined;
      logger.info({ reqId: ctx.state?.requestId, event, error, description: err.error_description, detail: err.error_detail }, 'request refused');
      if (event !== 'grant.error') return;
      countToken(ctx, error ?? 'error');
      // oidc-provider found the code or refresh token already consumed and revoked the grant.
      if (/already (used|consumed)/.test(err.error_detail ?? '')) reportReuse(logger, bus, { model: reusedModel(ctx), reqId: ctx.state?.requestId, ...(ctx.oidc?.client ? { clientId: ctx.oidc.client.clientId } : {}) });
    });
  }

  events.on('backchannel.error', (ctx: KoaContextWithOIDC, err: Error, client: { clientId: string }) => {
    logger.warn({ event: 'backchannel_logout.failed', reqId: ctx.state?.requestId, clientId: client.clientId, reason: err.message }, 'back-channel logout failed');
  });
  events.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    logger.error({ reqId: ctx.state?.requestId, err, path: ctx.path }, 'server_error');
    if (ctx.oidc?.route === 'token') countToken(ctx, 'server_error');
  });
}

/** Where a token exchange leaves its delegation for the token.issued event (the request's state). */
const DELEGATION = Symbol('baton.delegation');

/** The delegation (`act`) of the token this request issues: named in its token.issued event, opaque tokens included. */
export function noteDelegation(ctx: { state?: object }, act: Actor): void {
  if (ctx.state) (ctx.state as { [DELEGATION]?: Actor })[DELEGATION] = act;
}

/** 'token.issued' / 'token.refreshed' from the token response, with each token by reference only. */
function announceIssue(ctx: KoaContextWithOIDC, bus: Events): void {
  const grantType = String(ctx.oidc?.params?.grant_type ?? 'unknown');
  if (!bus.wants(grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued')) return;
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  const claims = typeof body.access_token === 'string' ? jwtPayload(body.access_token) : undefined;
  const sub = claims?.sub ?? ctx.oidc?.entities?.Grant?.accountId ?? ctx.oidc?.account?.accountId;
  const aud = claims?.aud;
  const act = (ctx.state as { [DELEGATION]?: Actor } | undefined)?.[DELEGATION];
  bus.emit(grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued', {
    grantType,
    clientId: ctx.oidc?.client?.clientId ?? 'unknown',
    ...(typeof sub === 'string' ? { sub } : {}),
    ...(typeof aud === 'string' ? { resource: aud } : {}),
    ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
    ...(act ? { act } : {}),
    tokens: tokenRefs(body, claims),
    reqId: ctx.state?.requestId,
  });
}

function reusedModel(ctx: KoaContextWithOIDC): string {
  const grantType = ctx.oidc?.params?.grant_type;
  return grantType === 'authorization_code' ? 'AuthorizationCode' : grantType === 'refresh_token' ? 'RefreshToken' : String(grantType ?? 'unknown');
}
