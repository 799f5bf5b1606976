// Which authorizer owns which scope: configuration checks (unique ids and namespaces, https,
// safe claim namespaces) and the longest-prefix ownership index the fan-out partitions with.
import type { AuthorizerConfig } from '../../config/orchestration.ts';
import { AUTHORIZER_RESERVED_CLAIMS as RESERVED_CLAIMS, UNSAFE_KEYS } from '../reserved-claims.ts';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Problems that make a set of authorizers unusable, as `authorizers[i].field: message` lines;
 * empty when fine. The `Authorizers` constructor refuses configurations with problems.
 */
export function checkAuthorizerConfigs(configs: readonly AuthorizerConfig[]): string[] {
  const problems: string[] = [];
  const ids = new Map<string, number>();
  const namespaces = new Map<string, number>();
  configs.forEach((config, i) => {
    const at = `authorizers[${i}]`;
    const sameId = ids.get(config.id);
    if (sameId !== undefined) problems.push(`${at}.id: "${config.id}" is also the id of authorizers[${sameId}]`);
    else ids.set(config.id, i);
    if (!config.shadow) {
      const sameNamespace = namespaces.get(config.namespace);
      if (sameNamespace !== undefined) problems.push(`${at}.namespace: "${config.namespace}" is also owned by authorizers[${sameNamespace}]`);
      else namespaces.set(config.namespace, i);
    }
    let url: URL | undefined;
    try { url = new URL(config.url); } catch { problems.push(`${at}.url: must be an absolute URL`); }
    if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
      problems.push(`${at}.url: must use https (http is only allowed for localhost)`);
    }
    const claimsKey = config.claimsNamespace ?? config.id;
    if (RESERVED_CLAIMS.has(claimsKey)) problems.push(`${at}.claimsNamespace: "${claimsKey}" is a reserved claim; set another claimsNamespace`);
    if (UNSAFE_KEYS.has(claimsKey)) problems.push(`${at}.claimsNamespace: "${claimsKey}" is not a safe claim name; set another claimsNamespace`);
    if (config.shadow && !configs.some((other) => !other.shadow && other.namespace === config.namespace)) {
      problems.push(`${at}.namespace: a shadow shadows the enforced authorizer of the same namespace; no enforced authorizer owns "${config.namespace}"`);
    }
    if (!(config.timeout > 0)) problems.push(`${at}.timeout: must be positive`);
    if (!(config.cacheTTL >= 0)) problems.push(`${at}.cacheTTL: must not be negative`);
  });
  return problems;
}

/**
 * Scope ownership: a scope belongs to the authorizer with the longest namespace that prefixes it
 * (so `orders:admin:` can be delegated apart from `orders:`); each scope has at most one owner.
 */
export class NamespaceIndex {
  readonly #byLength: readonly AuthorizerConfig[];

  /** Shadows own nothing: they are left out. */
  constructor(configs: readonly AuthorizerConfig[]) {
    this.#byLength = configs.filter((config) => !config.shadow).sort((a, b) => b.namespace.length - a.namespace.length);
  }

  /** The authorizer owning this scope, if any. */
  ownerOf(scope: string): AuthorizerConfig | undefined {
    return this.#byLength.find((config) => scope.startsWith(config.namespace));
  }

  /** The requested scopes of each concerned authorizer, deduplicated, in request order. */
  partition(scopes: readonly string[]): Map<AuthorizerConfig, string[]> {
    const groups = new Map<AuthorizerConfig, string[]>();
    for (const scope of new Set(scopes)) {
      const owner = this.ownerOf(scope);
      if (!owner) continue;
      const group = groups.get(owner);
      if (group) group.push(scope);
      else groups.set(owner, [scope]);
    }
    return groups;
  }
}
