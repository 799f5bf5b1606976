// The passthrough revocation endpoint (RFC 7009). A Baton refresh token issued to the calling client
// here is ended: a handle is deleted from the store, and the wrapped upstream refresh token is
// revoked at the upstream when it has a revocation endpoint (the only way to end a JWE one). The
// answer is 200 whatever the token was (section 2.2); only client authentication can fail.
// Section 2.1: the client is authenticated before anything ends. Baton does not hold passthrough
// clients' secrets: the upstream that registered the client checks them, on the revocation (or, when
// it has no revocation endpoint, a token request) Baton forwards with the client's credentials.
import type { Context } from 'koa';

import type { PassthroughDeps, PassthroughEntry } from './entries.ts';
import { answering } from './errors.ts';
import { clientCredentials, readForm, required } from './request.ts';
import { upstreamAuthenticate, upstreamRevoke, type UpstreamEndpoints } from './upstream-token.ts';

export async function revocation(ctx: Context, deps: PassthroughDeps, entry: PassthroughEntry): Promise<void> {
  await answering(ctx, async () => {
    const form = await readForm(ctx);
    const token = required(form, 'token');
    const client = clientCredentials(ctx, form, entry.issuer, entry.clients);
    const grant = (await entry.refreshTokens.peek(token, client.clientId))?.grant;
    if (grant) {
      const endpoints: UpstreamEndpoints = { metadata: await entry.discovery.get(), timeoutMs: entry.settings.timeoutMs, realm: entry.issuer };
      // Throws the upstream's invalid_client (relayed, 401) or a 503: then nothing ends.
      const revoked = await upstreamRevoke(endpoints, client, grant.upstreamRefreshToken);
      if (revoked === 'unsupported') await upstreamAuthenticate(endpoints, client);
      await entry.refreshTokens.revoke(token, client.clientId);
      deps.logger.info({ event: 'passthrough.revoked', reqId: ctx.state.requestId, passthrough: entry.config.id, clientId: client.clientId, sub: grant.sub, upstreamRevoked: revoked === 'revoked' }, 'passthrough refresh token revoked');
    }
    ctx.status = 200;
    ctx.body = '';
  });
}
