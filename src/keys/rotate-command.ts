// `baton keys rotate`: rotates the key set in the configured store. Running instances pick the new
// set up on their next key reload (every 30 s) or restart.
import type { BatonConfig } from '../config/schema.ts';
import { openAuditLog } from '../observability/audit-log.ts';
import { keyActivationDelay, keyRetention } from './policy.ts';
import { openStore } from '../storage/index.ts';
import { systemClock } from '../storage/store.ts';
import { KeyStore } from './key-store.ts';
import { resolveMasterSecret } from './master-secret.ts';
import { deriveKey } from './seal.ts';

export interface RotationResult {
  readonly current: string[];
  readonly retired: Array<{ kid: string; alg: string; publishedUntil: string }>;
}

/** Rotates, and records 'keys.rotated' in the configured audit log (relative paths from `configDir`). */
export async function rotateKeys(config: BatonConfig, configDir = process.cwd()): Promise<RotationResult> {
  const store = openStore(config.storage);
  const audit = openAuditLog(config.audit, configDir);
  try {
    const retention = keyRetention(config);
    const keyStore = new KeyStore({
      store,
      sealKey: deriveKey(resolveMasterSecret(config).value, 'keyset-at-rest'),
      algorithms: config.keys.signing,
      retention,
      activationDelay: keyActivationDelay(config),
      clock: systemClock,
    });
    const { keys } = await keyStore.rotate();
    const fresh = keys.keys.filter((k) => k.retiredAt === undefined);
    audit?.record({ type: 'keys.rotated', kids: fresh.map((k) => k.kid), activatesAt: Math.max(...fresh.map((k) => k.activatesAt ?? k.createdAt)) });
    return {
      current: keys.keys.filter((k) => k.retiredAt === undefined).map((k) => `${k.alg} ${k.kid}`),
      retired: keys.keys
        .filter((k) => k.retiredAt !== undefined)
        .map((k) => ({ kid: k.kid, alg: k.alg, publishedUntil: new Date(((k.retiredAt ?? 0) + retention) * 1000).toISOString() })),
    };
  } finally {
    audit?.close();
    await store.close();
  }
}
