// The authorization_code grant (RFC 6749 section 4.1.3) around oidc-provider's own handler: the code
// is spent only when the response is a success, so a 503 from a dependency leaves it redeemable;
// of concurrent redemptions exactly one commits (the others are reuse: RFC 6749 section 4.1.2).
import type Provider from 'oidc-provider';

import { grantHandler } from './provider-grants.ts';
import { spendOnSuccess } from './spend-on-success.ts';

export function wrapAuthorizationCodeGrant(provider: Provider): void {
  grantHandler(provider, 'authorization_code', (original) => (ctx) => spendOnSuccess(ctx, ['AuthorizationCode'], () => original(ctx)));
}
