// The decision cache: successful decisions (grant or deny) kept in the Store, kind
// 'authorizer-decision', for the authorizer's cacheTTL; failures (invalid answers included) are
// never stored, and a record that is not a valid decision reads as a miss.
import { createHash } from 'node:crypto';

import type { AuthorizerConfig } from '../../config/orchestration.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Store } from '../../storage/store.ts';
import { claimsProblem } from '../reserved-claims.ts';
import type { Decision, DecisionRequest } from './types.ts';

/** The Store record kind holding cached decisions. */
export const DECISION_KIND = 'authorizer-decision';

interface CachedDecision { decision: Decision; expiresAt: number }

/**
 * The cache key: authorizer, subject (and whether it is a user or a client), client, the sorted
 * scopes of its namespace, resource, and the upstream authentication context (idp, acr, amr), so a
 * decision made after a stronger sign-in is not reused after a weaker one. Not the grant type:
 * a refresh reuses the decision of the code exchange until the TTL expires.
 */
export function cacheKey(config: AuthorizerConfig, request: DecisionRequest, scopes: readonly string[]): string {
  const { upstream } = request;
  const material = JSON.stringify([
    config.id,
    request.grantType === 'client_credentials' ? 'client' : 'user',
    request.subject,
    request.clientId,
    [...scopes].sort(),
    request.resource ?? null,
    upstream ? [upstream.idp, upstream.acr ?? null, [...(upstream.amr ?? [])].sort()] : null,
  ]);
  return `${config.id}:${createHash('sha256').update(material).digest('base64url')}`;
}

/** Reads and writes cached decisions; a failing store is logged and treated as a miss, never as a decision. */
export class DecisionCache {
  constructor(private readonly store: Store, private readonly clock: () => number, private readonly logger: Logger) {}

  /** The cached decision, if one is live (checked against the clock too, not only the store's expiry). */
  async get(config: AuthorizerConfig, key: string): Promise<Decision | undefined> {
    if (!(config.cacheTTL > 0)) return undefined;
    try {
      const record = await this.store.getRecord<CachedDecision>(DECISION_KIND, key);
      const cached = record?.value;
      if (!cached || !(cached.expiresAt > this.clock()) || !isDecision(cached.decision)) return undefined;
      return cached.decision;
    } catch (err) {
      this.logger.warn({ event: 'authorizer.cache_error', authorizer: config.id, err }, 'decision cache read failed; asking the authorizer');
      return undefined;
    }
  }

  /** Stores a successful decision for `cacheTTL` seconds (nothing when it is 0). */
  async put(config: AuthorizerConfig, key: string, decision: Decision): Promise<void> {
    if (!(config.cacheTTL > 0)) return;
    try {
      const value: CachedDecision = { decision, expiresAt: this.clock() + config.cacheTTL * 1000 };
      await this.store.putRecord(DECISION_KIND, key, value, { expiresIn: config.cacheTTL });
    } catch (err) {
      this.logger.warn({ event: 'authorizer.cache_error', authorizer: config.id, err }, 'decision cache write failed');
    }
  }
}

function isDecision(value: unknown): value is Decision {
  const d = value as Partial<Decision> | null;
  return typeof d === 'object' && d !== null && (d.decision === 'grant' || d.decision === 'deny')
    && Array.isArray(d.granted) && Array.isArray(d.dropped) && claimsProblem(d.claims) === undefined;
}
