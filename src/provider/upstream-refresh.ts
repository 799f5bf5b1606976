// Where a Baton refresh meets the upstream session. oidc-provider calls `extraTokenClaims` while it
// builds the access token of every grant; for refresh_token (RFC 6749 section 6) Baton first renews
// the grant's upstream session per policy (upstream/session.ts). A session the upstream ended, or
// could not confirm outside the grace period, fails the refresh with invalid_grant and ends the
// grant, so revoked access stops at the next refresh.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { Store } from '../storage/store.ts';
import type { UpstreamSessions } from '../upstream/session.ts';
import { revokeGrant } from './adapter.ts';

interface TokenLike {
  readonly grantId?: string;
  readonly accountId?: string;
  readonly clientId?: string;
}

export function renewUpstreamOnRefresh(sessions: UpstreamSessions, store: Store) {
  return async function extraTokenClaims(ctx: KoaContextWithOIDC, token: TokenLike): Promise<undefined> {
    if (ctx.oidc?.route !== 'token' || ctx.oidc.params?.grant_type !== 'refresh_token') return undefined;
    const { grantId, accountId, clientId } = token;
    if (!grantId || !accountId || !clientId) return undefined;
    const outcome = await sessions.renew(grantId, clientId, accountId);
    if (outcome.kind === 'ended') {
      await revokeGrant(store, grantId);
      await sessions.end(grantId);
      throw new errors.InvalidGrant(outcome.reason);
    }
    return undefined;
  };
}
