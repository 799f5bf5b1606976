// The passthrough revocation endpoint (RFC 7009). A Baton refresh token issued to the calling client
// here is ended: a handle is deleted from the store, and the wrapped upstream refresh token is
// revoked at the upstream when it has a revocation endpoint (the only way to end a JWE one). The
// answer is 200 whatever the token was (section 2.2); only client authentication can fail.
import type { Context } from 'koa';

import type { PassthroughDeps, PassthroughEntry } from './entries.ts';
import { answering } from './errors.ts';
import { clientCredentials, readForm, required } from './request.ts';
import { upstreamRevoke } from './upstream-token.ts';

export async function revocation(ctx: Context, deps: PassthroughDeps, entry: PassthroughEntry): Promise<void> {
  await answering(ctx, async () => {
    const form = await readForm(ctx);
    const token = required(form, 'token');
    const client = clientCredentials(ctx, form, entry.issuer, entry.clients);
    const grant = await entry.refreshTokens.revoke(token, client.clientId);
    if (grant) {
      const metadata = await entry.discovery.get().catch(() => undefined);
      const revoked = metadata && await upstreamRevoke({ metadata, timeoutMs: entry.settings.timeoutMs, realm: entry.issuer }, client, grant.upstreamRefreshToken).catch(() => false);
      deps.logger.info({ event: 'passthrough.revoked', reqId: ctx.state.requestId, passthrough: entry.config.id, clientId: client.clientId, sub: grant.sub, upstreamRevoked: Boolean(revoked) }, 'passthrough refresh token revoked');
    }
    ctx.status = 200;
    ctx.body = '';
  });
}
