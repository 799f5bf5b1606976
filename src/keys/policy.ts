// How long keys are published before they sign and after they stop, from the configuration: shared
// by the running server and `baton keys rotate`.
import type { BatonConfig } from '../config/schema.ts';

/** oidc-provider's default clock tolerance, plus a minute of margin for slow verifiers. */
const CLOCK_SLACK_SECONDS = 15 + 60;

/** Seconds a rotated-in key is only published before it signs: long enough for every instance to reload. */
export function keyActivationDelay(config: BatonConfig): number {
  if (config.keys.activationDelay !== undefined) return config.keys.activationDelay;
  return config.storage.type === 'sqlite' || config.storage.type === 'memory' ? 0 : 3 * config.keys.reloadInterval;
}

/** Seconds a retired signing key stays published: every JWT it signed has expired by then. */
export function keyRetention(config: BatonConfig): number {
  const lifetimes = [config.ttl.accessToken, config.ttl.clientCredentials, config.ttl.idToken, ...config.resources.map((r) => r.accessTokenTTL ?? 0)];
  return Math.max(...lifetimes) + CLOCK_SLACK_SECONDS;
}

