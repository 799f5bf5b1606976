// Starts a real Baton (HTTP listener on a free port) from a YAML config fixture or an object.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';

import { validateConfig } from '../../src/config/load.ts';
import type { BatonConfig } from '../../src/config/schema.ts';
import { createBaton, type Baton, type BatonOptions } from '../../src/server.ts';

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

/** Lowest port freePort picks: above the well-known and registered services a test machine runs. */
const FLOOR = 10_000;
/** Ports of services that may be running below the ephemeral range (RabbitMQ's distribution and management ports, memcached). */
const TAKEN_BY_SERVICES = new Set([11211, 15672, 25672]);

/**
 * A port nothing listens on, for a server that must know its port before it listens (its issuer
 * URL). Picked at random below the kernel's ephemeral range: a port from that range (what listen(0)
 * gives) that is closed again can become the source port of any outgoing connection, and suites run
 * in parallel (clients, PostgreSQL, Redis), so it could be taken before the caller listens
 * (EADDRINUSE; seen in CI). Below the range only another freePort caller could pick the same port.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; low - FLOOR >= 1_000 && attempt < 20; attempt += 1) {
    const port = FLOOR + Math.floor(Math.random() * (low - FLOOR));
    if (!TAKEN_BY_SERVICES.has(port) && (await listens(port))) return port;
  }
  return listens(0);
}

/** The first port of the kernel's ephemeral range (Linux), else the IANA range's. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 49_152;
  } catch {
    return 49_152;
  }
}

/** Listens on `port` (0: any) on 127.0.0.1 and closes again: answers the port, or 0 when it was taken. */
async function listens(port: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(0) : reject(err)));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}
