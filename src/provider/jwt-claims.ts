// oidc-provider's `formats.customizers.jwt` as Baton uses it: the grant record of every JWT access
// token (grant-lineage.ts), then, in a traced request, every claim of the finished payload and who
// set it (explain/token-claims.ts).
import type { KoaContextWithOIDC } from 'oidc-provider';

import { currentTrace } from '../explain/trace-context.ts';
import { recordAccessTokenClaims } from '../explain/token-claims.ts';

interface JwtToken { jti?: string; accountId?: string; grantId?: string; resourceServer?: { identifier(): string } }
type Customizer = (ctx: KoaContextWithOIDC | undefined, token: JwtToken, jwt: { payload: Record<string, unknown> }) => Promise<void>;

export function jwtCustomizer(recordGrant: Customizer): Customizer {
  return (ctx, token, jwt) => {
    // Untraced: exactly the grant record, no extra async step.
    if (!currentTrace()) return recordGrant(ctx, token, jwt);
    return recordGrant(ctx, token, jwt).then(() => recordAccessTokenClaims(ctx, token.resourceServer?.identifier(), jwt.payload));
  };
}
