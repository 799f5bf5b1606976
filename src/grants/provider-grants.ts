// Reaching the grant handlers oidc-provider registered itself (authorization_code, refresh_token), so
// Baton can wrap them (spend on success, reuse grace) while oidc-provider keeps doing the protocol work.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
// The provider's internal state (weak_cache.js): the package has no exports map, and the handler map
// is the one place a built-in grant can be reached after the constructor registered it.
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

export type GrantHandler = (ctx: KoaContextWithOIDC) => Promise<void>;

/** Replaces the handler of a built-in grant with `wrap(original)`; parameters and duplicate rules stay. */
export function grantHandler(provider: Provider, grantType: string, wrap: (original: GrantHandler) => GrantHandler): void {
  const handlers = instance(provider).grantTypeHandlers;
  const original = handlers.get(grantType);
  if (!original) throw new Error(`oidc-provider has no ${grantType} grant to wrap`);
  handlers.set(grantType, wrap(original));
}
