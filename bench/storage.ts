// Benchmark: Baton's token endpoint on each storage backend (sqlite, postgres, redis, split), two
// workloads that go through the store: client_credentials with an opaque (stored) access token, and
// authorization-code redemption (find + atomic consume of the code, grant, refresh token write).
// Servers on CPU 0, load generator on CPU 1, alternating slices. See bench/README.md.
//   node --import tsx bench/storage.ts
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import type { LoadResult } from './load.ts';
import { type Child, Children, choosePinning, onInterrupt } from './processes.ts';
import { Tally } from './report.ts';
import type { ServerMessage } from './server-ipc.ts';
import { type Backend, BackendPlaces } from './storage-backends.ts';
import {
  CLIENT_CREDENTIALS_BODY, codeBody, OPAQUE_RESOURCE, RESOURCE, type SeededCode, TOKEN_HEADERS, TOKEN_PATH, type Workload, WORKLOAD_LABEL, WORKLOADS,
} from './storage-fixture.ts';
import type { StorageLoadQueued, StorageLoadResult, StorageLoadRun } from './storage-load.ts';
import type { SeedReply, SeedRequest } from './storage-server.ts';
import { envNumber, freePort, recordSummary } from './support.ts';

const WARMUP = envNumber('BENCH_WARMUP', 1);
const DURATION = envNumber('BENCH_DURATION', 5);
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 10));
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 5));
const LOG_LEVEL = process.env.BENCH_BATON_LOG_LEVEL ?? 'info';
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Code redemptions per second assumed before any was measured (only sizes the warm-up's codes). */
const FIRST_GUESS_RATE = 800;

type Stats = Extract<ServerMessage, { type: 'stats' }>;

interface Server {
  backend: Backend;
  child: Child;
  url: string;
  tallies: Record<Workload, Tally>;
  /** Highest code redemptions per second seen so far: sizes the codes seeded ahead of a slice. */
  codeRate?: number;
  /** Codes queued in the load generator for this backend. */
  queued: number;
  seeded: number;
  exhaustedSlices: number;
  samples: string[];
}



async function postToken(url: string, body: string): Promise<Record<string, unknown>> {
  const response = await fetch(url + TOKEN_PATH, { method: 'POST', headers: TOKEN_HEADERS, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST /token answered ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function decodeJwt(token: unknown): { header?: Record<string, unknown>; payload?: Record<string, unknown> } {
  const [header, payload] = String(token).split('.').map((part) => {
    try { return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>; } catch { return undefined; }
  });
  return { header, payload };
}

/** One request of each workload before any load: both must be the expected 200s, or the run stops. */
async function verify(server: Server, codes: SeededCode[]): Promise<void> {
  const name = server.backend.name;
  const cc = await postToken(server.url, CLIENT_CREDENTIALS_BODY).catch((err: Error) => { throw new Error(`${name}, client_credentials: ${err.message}`); });
  if (typeof cc.access_token !== 'string' || cc.access_token.includes('.') || cc.token_type !== 'Bearer') {
    throw new Error(`${name}: expected an opaque Bearer access token for ${OPAQUE_RESOURCE}, got ${JSON.stringify(cc)}`);
  }
  // The opaque token is only a reference: introspection finds it in the store.
  const introspection = await fetch(`${server.url}/introspect`, { method: 'POST', headers: TOKEN_HEADERS, body: new URLSearchParams({ token: cc.access_token }).toString() });
  const introspected = (await introspection.json()) as Record<string, unknown>;
  if (introspection.status !== 200 || introspected.active !== true) throw new Error(`${name}: the opaque access token is not active at /introspect: ${JSON.stringify(introspected)}`);

  const seeded = codes[0];
  if (!seeded) throw new Error(`${name}: no code was seeded for the check request`);
  const redeemed = await postToken(server.url, codeBody(seeded)).catch((err: Error) => { throw new Error(`${name}, code redemption: ${err.message}`); });
  const access = decodeJwt(redeemed.access_token);
  const idToken = decodeJwt(redeemed.id_token);
  if (access.header?.typ !== 'at+jwt' || access.header.alg !== 'ES256' || access.payload?.aud !== RESOURCE || idToken.header?.alg !== 'ES256' || typeof redeemed.refresh_token !== 'string') {
    throw new Error(`${name}: expected an ES256 at+jwt for ${RESOURCE}, an ES256 id_token and a refresh token, got ${JSON.stringify(redeemed)}`);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const pinning = choosePinning();
  console.log(`storage backends: client_credentials with an opaque (stored) access token, and authorization-code redemption (PKCE, ES256 id_token + JWT access token, refresh token), node ${process.version}`);
  console.log(`per backend and workload: ${WARMUP} s warm-up, then ${DURATION} s measured in ${ROUNDS} alternating slices; ${CONNECTIONS} connections; Baton log level ${LOG_LEVEL} (stdout discarded)`);
  console.log(pinning.note ? `note: ${pinning.note}` : `Baton children pinned to CPU ${pinning.server} (one loaded at a time), load generator to CPU ${pinning.load}; PostgreSQL and Redis are not pinned and their CPU is not counted`);

  const places = new BackendPlaces();
  const children = new Children();
  let cleaned: Promise<void> | undefined;
  const cleanup = () => (cleaned ??= (async () => {
    await children.stopAll();
    for (const problem of await places.cleanup()) console.error(`cleanup: ${problem}`);
  })());
  const releaseInterrupt = onInterrupt(() => cleanup());
  try {
    await places.check();
    const backends = places.backends();
    const codeDir = places.tempDir('baton-bench-codes-');
    let files = 0;

    const { child: load } = await children.start('load', './storage-load.ts', { cpu: pinning.load });
    const run = (server: Server, workload: Workload, duration: number) => load.request<StorageLoadResult>(
      { type: 'run', backend: server.backend.name, url: server.url, workload, duration, connections: CONNECTIONS } satisfies StorageLoadRun,
      'result',
    );
    /** Seeds `count` codes in the Baton child, which writes them to a file of their own. */
    const seed = async (server: Server, count: number): Promise<string> => {
      const file = join(codeDir, `${server.backend.name}-${++files}.json`);
      const reply = await server.child.request<SeedReply>({ type: 'seed', count, file } satisfies SeedRequest, 'seeded');
      if (reply.error !== undefined) throw new Error(`${server.backend.name}: seeding codes failed: ${reply.error}`);
      server.seeded += reply.count;
      return file;
    };
    /** Seeds codes and queues them in the load generator, which posts each one once. */
    const queue = async (server: Server, count: number) => {
      if (count <= 0) return;
      const file = await seed(server, count);
      server.queued = (await load.request<StorageLoadQueued>({ type: 'codes', backend: server.backend.name, file }, 'queued')).remaining;
      rmSync(file, { force: true });
    };
    const cpu = async (server: Server) => (await server.child.request<Stats>({ type: 'stats' }, 'stats')).cpuMicros;

    const servers: Server[] = [];
    for (const backend of backends) {
      const env = { BENCH_PORT: String(await freePort()), BENCH_STORAGE: JSON.stringify(backend.storage), BENCH_BATON_LOG_LEVEL: LOG_LEVEL };
      const { child, ready } = await children.start(backend.name, './storage-server.ts', { cpu: pinning.server, env, nodeArgs: SERVER_NODE_ARGS });
      const server: Server = {
        backend, child, url: ready.url!, queued: 0, seeded: 0, exhaustedSlices: 0, samples: [],
        tallies: { client_credentials: new Tally(backend.name), code: new Tally(backend.name) },
      };
      servers.push(server);
      const file = await seed(server, 1);
      await verify(server, JSON.parse(readFileSync(file, 'utf8')) as SeededCode[]);
      rmSync(file, { force: true });
    }

    const slice = async (server: Server, workload: Workload, duration: number, measured: boolean) => {
      if (workload === 'code') {
        // Enough codes for the slice at the fastest rate seen so far, with margin; seeding is not measured.
        const wanted = Math.ceil((server.codeRate ?? FIRST_GUESS_RATE) * duration * 1.5) + CONNECTIONS;
        if (server.queued < wanted) await queue(server, wanted - server.queued);
      }
      const before = measured ? await cpu(server) : 0;
      const result = await run(server, workload, duration);
      const after = measured ? await cpu(server) : 0;
      if (workload === 'code') {
        server.queued = result.remaining;
        if (result.total > 0) server.codeRate = Math.max(server.codeRate ?? 0, result.total / result.seconds);
      }
      for (const sample of result.samples) if (server.samples.length < 5) server.samples.push(`${WORKLOAD_LABEL[workload]}: ${sample}`);
      if (!measured) return;
      if (result.exhausted) server.exhaustedSlices += 1;
      server.tallies[workload].add(result satisfies LoadResult, after - before);
    };

    console.log('warming up ...');
    for (const server of servers) for (const workload of WORKLOADS) await slice(server, workload, WARMUP, false);
    // Codes for all measured slices, seeded before any of them (top-ups between slices if a backend speeds up).
    for (const server of servers) await queue(server, Math.ceil((server.codeRate ?? FIRST_GUESS_RATE) * DURATION * 1.3) + CONNECTIONS - server.queued);

    console.log(`measuring (${ROUNDS} x ${(DURATION / ROUNDS).toFixed(1)} s per backend and workload) ...`);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      const workloads = round % 2 === 0 ? WORKLOADS : [...WORKLOADS].reverse();
      for (const server of order) for (const workload of workloads) await slice(server, workload, DURATION / ROUNDS, true);
    }
    const rss = new Map<Server, number>();
    for (const server of servers) rss.set(server, (await server.child.request<Stats>({ type: 'stats' }, 'stats')).rss);

    console.log('');
    printReport(servers, rss);
    console.log(`codes seeded per backend: ${servers.map((s) => `${s.backend.name} ${s.seeded}`).join(', ')}; elapsed ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await cleanup();
    releaseInterrupt();
  }
}

function printReport(servers: Server[], rss: Map<Server, number>): void {
  /** The first `left` columns are text (left-aligned), the others figures. */
  const table = (header: string[], rows: string[][], left: number) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows]) console.log(row.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  };
  const rows: string[][] = [];
  for (const workload of WORKLOADS) {
    for (const server of servers) {
      const t = server.tallies[workload];
      rows.push([
        server.backend.name, WORKLOAD_LABEL[workload], t.requestsPerSecond.toFixed(0), t.percentile(50).toFixed(2), t.percentile(99).toFixed(2),
        t.cpuMicrosPerRequest.toFixed(0), String(t.requests), String(t.failures.non2xx), String(t.failures.errors),
      ]);
    }
  }
  table(['backend', 'workload', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'requests', 'non-2xx', 'errors'], rows, 2);
  console.log('');

  const sqlite = servers.find((s) => s.backend.name === 'sqlite') ?? servers[0]!;
  table(
    ['req/s relative to sqlite', ...WORKLOADS.map((w) => WORKLOAD_LABEL[w]), 'RSS MiB'],
    servers.map((s) => [
      s.backend.name,
      ...WORKLOADS.map((w) => (s.tallies[w].requestsPerSecond / sqlite.tallies[w].requestsPerSecond).toFixed(2)),
      ((rss.get(s) ?? 0) / 2 ** 20).toFixed(1),
    ]),
    1,
  );

  recordSummary(servers.flatMap((s) => WORKLOADS.map((w) => ({
    benchmark: 'storage',
    figure: `${s.backend.name}, ${WORKLOAD_LABEL[w]}: req/s (vs sqlite)`,
    value: `${s.tallies[w].requestsPerSecond.toFixed(0)} (${(s.tallies[w].requestsPerSecond / sqlite.tallies[w].requestsPerSecond).toFixed(2)})`,
  }))));
  const failed = servers.filter((s) => WORKLOADS.some((w) => s.tallies[w].failures.non2xx + s.tallies[w].failures.errors > 0));
  if (failed.length > 0) {
    console.log('');
    console.log(`note: non-2xx responses or socket errors (${failed.map((s) => s.backend.name).join(', ')}): those figures include failures`);
  }
  for (const server of servers) for (const sample of server.samples) console.log(`  ${server.backend.name}: ${sample}`);
  const dry = servers.filter((s) => s.exhaustedSlices > 0);
  if (dry.length > 0) console.log(`note: the seeded codes ran out before the end of ${dry.map((s) => `${s.exhaustedSlices} slice(s) of ${s.backend.name}`).join(', ')} (those slices are shorter; rates stay per measured second)`);
}

await main();
