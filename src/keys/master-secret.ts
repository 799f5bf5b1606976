// Where the master secret comes from: the config (usually `${BATON_MASTER_SECRET}`), a file, or, in
// explicit development mode only, a random one kept next to the database.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import type { BatonConfig } from '../config/schema.ts';
import { privateDirectory } from '../storage/data-files.ts';

export interface MasterSecret {
  readonly value: string;
  /** True when generated for development mode; the caller warns. */
  readonly development: boolean;
  readonly source: string;
}

export function resolveMasterSecret(config: BatonConfig): MasterSecret {
  const { masterSecret, masterSecretFile } = config.keys;
  if (masterSecret !== undefined) return { value: masterSecret, development: false, source: 'keys.masterSecret' };
  if (masterSecretFile !== undefined) {
    const value = readFileSync(masterSecretFile, 'utf8').trim();
    if (value.length < 32) throw new Error(`keys.masterSecretFile: the secret in ${masterSecretFile} must be at least 32 characters`);
    return { value, development: false, source: masterSecretFile };
  }
  if (!config.development) {
    throw new Error('keys: no master secret configured and development mode is off');
  }
  if (config.storage.type === 'memory') {
    return { value: randomBytes(32).toString('base64url'), development: true, source: 'generated in memory' };
  }
  // Development keeps its secret beside the SQLite file, or under ./data with a shared store.
  const file = join(config.storage.type === 'sqlite' ? dirname(config.storage.path) : './data', 'dev-master-secret');
  try {
    return { value: readFileSync(file, 'utf8').trim(), development: true, source: file };
  } catch {
    privateDirectory(dirname(file));
    const value = randomBytes(32).toString('base64url');
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return { value, development: true, source: file };
  }
}
