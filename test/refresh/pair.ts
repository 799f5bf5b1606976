// Two Baton instances on one store, as an operator runs them behind a load balancer: A in the test
// process (its events observable), B a real `baton start` process whose log lines are kept. On SQLite
// (one machine, one instance) both names point at A.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';
import { stringify } from 'yaml';

import { validateConfig } from '../../src/config/load.ts';
import type { BatonEvent } from '../../src/observability/events.ts';
import { createBaton, type Baton } from '../../src/server.ts';
import { freePort, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';

export type Backend = 'sqlite' | 'postgres' | 'redis' | 'split';

export interface Instance {
  readonly url: string;
}

export interface Pair {
  readonly a: Instance & { readonly baton: Baton };
  readonly b: Instance;
  /** Events A emitted, and B's log lines (JSON). */
  readonly eventsAtA: BatonEvent[];
  readonly linesAtB: string[];
  stop(): Promise<void>;
}

/** A real HTTP authorizer that can be stopped and started again on the same port. */
export interface Authorizer {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startAuthorizer(answer: Record<string, unknown>): Promise<Authorizer> {
  const port = await freePort();
  let server: Server | undefined;
  const start = async () => {
    server = createServer((req, res) => {
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  };
  await start();
  return {
    url: `http://127.0.0.1:${port}/decide`,
    start,
    stop: () => new Promise<void>((resolve) => {
      server?.closeAllConnections();
      server?.close(() => resolve());
    }),
  };
}

function storageFor(backend: Backend, names: { schema: string; keyPrefix: string; dir: string }): Record<string, unknown> {
  switch (backend) {
    case 'sqlite': return { type: 'sqlite', path: join(names.dir, 'baton.db') };
    case 'postgres': return { type: 'postgres', url: POSTGRES_URL, schema: names.schema };
    case 'redis': return { type: 'redis', url: REDIS_URL, keyPrefix: names.keyPrefix };
    case 'split': return { type: 'split', durable: { type: 'postgres', url: POSTGRES_URL, schema: names.schema }, shortLived: { type: 'redis', url: REDIS_URL, keyPrefix: names.keyPrefix } };
  }
}

export async function startPair(backend: Backend, raw: Record<string, unknown>): Promise<Pair> {
  if (backend === 'postgres' || backend === 'split') await requirePostgres();
  if (backend === 'redis' || backend === 'split') await requireRedis();
  const names = { schema: uniqueSchema('refresh'), keyPrefix: uniquePrefix(), dir: mkdtempSync(join(tmpdir(), 'baton-refresh-')) };
  const [portA, portB] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${portA}`;
  const full = { ...raw, issuer, keys: { masterSecret: TEST_MASTER_SECRET }, storage: storageFor(backend, names) };
  const config = validateConfig(full, 'refresh', { env: { ...process.env, ...TEST_ENV } });
  const baton = await createBaton(config, { logger: pino({ level: 'silent' }), keyReloadInterval: 0 });
  await baton.listen(portA, '127.0.0.1');
  const eventsAtA: BatonEvent[] = [];
  baton.events.subscribe((event) => eventsAtA.push(event));
  const a = { baton, url: issuer };

  const linesAtB: string[] = [];
  let child: ChildProcess | undefined;
  let b: Instance = a;
  if (backend !== 'sqlite') {
    const file = join(names.dir, 'baton.yaml');
    writeFileSync(file, stringify({ ...full, server: { host: '127.0.0.1', port: portB }, logging: { level: 'info' } }));
    child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/baton.js', import.meta.url)), 'start', '--config', file], { env: { ...process.env, ...TEST_ENV }, stdio: ['ignore', 'pipe', 'inherit'] });
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      linesAtB.push(...lines);
    });
    b = { url: `http://127.0.0.1:${portB}` };
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${b.url}/readyz`).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error('baton process B did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  return {
    a, b, eventsAtA, linesAtB,
    async stop() {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        process.kill(child.pid!, 'SIGTERM');
        await exited;
      }
      await baton.close();
      if (backend === 'postgres' || backend === 'split') await dropSchema(names.schema);
      if (backend === 'redis' || backend === 'split') await dropPrefix(names.keyPrefix);
      rmSync(names.dir, { recursive: true, force: true });
    },
  };
}
