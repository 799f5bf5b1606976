// Placing an authorizer's claims into the access token claims: under its namespace (an object),
// or top-level for `claimsNamespace: ''` (an answer with reserved claims is refused before this;
// they are dropped here too). First writer wins.
import type { AuthorizerConfig } from '../../config/orchestration.ts';
import { AUTHORIZER_RESERVED_CLAIMS as RESERVED_CLAIMS, UNSAFE_KEYS } from '../reserved-claims.ts';

/**
 * Adds `claims` of one authorizer to `target`; returns the names it could not add (reserved, or
 * already set by an authorizer earlier in the configuration). Empty claims add nothing.
 */
export function placeClaims(target: Record<string, unknown>, config: AuthorizerConfig, claims: Record<string, unknown>): string[] {
  const names = Object.keys(claims);
  if (names.length === 0) return [];
  const namespace = config.claimsNamespace ?? config.id;
  if (namespace !== '') {
    // checkAuthorizerConfigs refuses reserved namespaces; this is the second line.
    if (RESERVED_CLAIMS.has(namespace) || UNSAFE_KEYS.has(namespace) || Object.hasOwn(target, namespace)) return [namespace];
    target[namespace] = claims;
    return [];
  }
  const dropped: string[] = [];
  for (const name of names) {
    if (RESERVED_CLAIMS.has(name) || UNSAFE_KEYS.has(name) || Object.hasOwn(target, name)) dropped.push(name);
    else target[name] = claims[name];
  }
  return dropped;
}
