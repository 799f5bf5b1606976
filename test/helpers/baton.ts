// Starts a real Baton (HTTP listener on a free port) from a YAML config fixture or an object.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';

import { validateConfig } from '../../src/config/load.ts';
import type { BatonConfig } from '../../src/config/schema.ts';
import { createBaton, type Baton, type BatonOptions } from '../../src/server.ts';
import { freePort } from './free-port.ts';

export const TEST_MASTER_SECRET = 'test-master-secret-0123456789abcdefghij';

export interface RunningBaton {
  readonly baton: Baton;
  readonly url: string;
  readonly config: BatonConfig;
  stop(): Promise<void>;
}

/** A scratch directory removed by the returned cleanup. */
export function scratchDir(prefix = 'baton-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Listens on 127.0.0.1 with a free port. The issuer must match the listener, so it is derived from
 * the port after binding: the config is validated once with a placeholder issuer, then again with
 * the real one (the same path every `baton start` takes).
 */
export async function startBaton(raw: Record<string, unknown>, options: BatonOptions & { port?: number } = {}): Promise<RunningBaton> {
  const port = options.port ?? (await freePort());
  const config = validateConfig({
    keys: { masterSecret: TEST_MASTER_SECRET },
    storage: { type: 'memory' },
    ...raw,
    issuer: `http://127.0.0.1:${port}`,
    server: { host: '127.0.0.1', port, shutdownGracePeriod: 2, ...(raw.server as object | undefined) },
  }, 'test config', { env: { ...process.env, ...TEST_ENV } });
  const baton = await createBaton(config, { logger: pino({ level: 'silent' }), keyReloadInterval: 0, ...options });
  await baton.listen(port, '127.0.0.1');
  return { baton, url: config.issuer, config, stop: () => baton.close() };
}

export const TEST_ENV = {
  SERVICE_SECRET: 'service-secret-0123456789',
  WEB_SECRET: 'web-app-secret-0123456789',
};

export { freePort };
