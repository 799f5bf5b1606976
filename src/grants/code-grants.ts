// The authorization_code grant (RFC 6749 section 4.1.3) and the device_code grant (RFC 8628 section
// 3.4) around oidc-provider's own handlers: the code is spent only when the response is a success, so
// a 503 from a dependency leaves it redeemable; of concurrent redemptions exactly one commits (the
// others are reuse: RFC 6749 section 4.1.2).
import type Provider from 'oidc-provider';

import { DEVICE_CODE_GRANT } from '../provider/device-polling.ts';
import { grantHandler } from './provider-grants.ts';
import { spendOnSuccess } from './spend-on-success.ts';

export function wrapCodeGrants(provider: Provider): void {
  grantHandler(provider, 'authorization_code', (original) => (ctx) => spendOnSuccess(ctx, ['AuthorizationCode'], () => original(ctx)));
  grantHandler(provider, DEVICE_CODE_GRANT, (original) => (ctx) => spendOnSuccess(ctx, ['DeviceCode'], () => original(ctx)));
}
