// Benchmark: client_credentials grant with an RFC 9068 JWT access token (ES256), Baton vs bare
// oidc-provider, servers on one CPU and autocannon on the other. See bench/README.md.
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

import { batonBenchConfig } from './baton-config.ts';
import { RESOURCE, TOKEN_REQUEST } from './fixture.ts';
import type { LoadResult } from './load.ts';
import { type Child, Children, choosePinning, onInterrupt } from './processes.ts';
import { printReport, Tally } from './report.ts';
import type { ServerMessage } from './server-ipc.ts';
import { BATON_DIST as DIST, checkBuild, envNumber, freePort } from './support.ts';

const WARMUP = envNumber('BENCH_WARMUP', 3);
const DURATION = envNumber('BENCH_DURATION', 10);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 10);
/** The measured time is cut into this many slices, alternating servers, so host drift hits both alike. */
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 5));
/** Extra node flags for the server children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const LOG_LEVEL = process.env.BENCH_BATON_LOG_LEVEL ?? 'info';

type Stats = Extract<ServerMessage, { type: 'stats' }>;
interface Server { tally: Tally; child: Child; url: string }

const DIST_SERVER = './baton-dist-server.mjs';

/** One real request before any load: a 200 with an RFC 9068 JWT, or the benchmark stops here. */
async function verify(name: string, url: string): Promise<void> {
  const response = await fetch(url + TOKEN_REQUEST.path, { method: TOKEN_REQUEST.method, headers: TOKEN_REQUEST.headers, body: TOKEN_REQUEST.body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${name}: POST /token answered ${response.status}: ${text}`);
  const token = (JSON.parse(text) as { access_token?: string }).access_token ?? '';
  const [header, payload] = token.split('.').map((part) => {
    try { return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>; } catch { return undefined; }
  });
  if (header?.typ !== 'at+jwt' || header.alg !== 'ES256' || payload?.aud !== RESOURCE) {
    throw new Error(`${name}: expected an ES256 at+jwt for ${RESOURCE}, got header ${JSON.stringify(header)} aud ${JSON.stringify(payload?.aud)}`);
  }
}

async function main(): Promise<void> {
  const pinning = choosePinning();
  const oidcVersion = (createRequire(import.meta.url)('oidc-provider/package.json') as { version: string }).version;
  console.log(`client_credentials + JWT access token (ES256, RFC 9068): Baton vs bare oidc-provider ${oidcVersion}, node ${process.version}`);
  console.log(`per server: ${WARMUP} s warm-up, then ${DURATION} s measured in ${ROUNDS} alternating slices; ${CONNECTIONS} connections; Baton log level ${LOG_LEVEL} (stdout discarded)`);
  console.log(DIST
    ? 'Baton: dist/ (npm run build) under plain node, no tsx, as the installed package runs it; bare: under node --import tsx (its RSS includes tsx)'
    : 'both servers run their TypeScript under node --import tsx (BENCH_BATON=dist: Baton compiled, without tsx)');
  if (DIST) checkBuild();
  console.log(pinning.note ? `note: ${pinning.note}` : `servers pinned to CPU ${pinning.server} (one loaded at a time), load generator (autocannon) to CPU ${pinning.load}`);

  const children = new Children();
  const releaseInterrupt = onInterrupt(() => children.stopAll());
  try {
    const { child: load } = await children.start('load', './load.ts', { cpu: pinning.load });
    const run = (url: string, duration: number) => load.request<LoadResult>({ type: 'run', url, duration, connections: CONNECTIONS }, 'result');
    const start = async (name: string, file: string): Promise<Server> => {
      const port = await freePort();
      const env: Record<string, string> = { BENCH_PORT: String(port), BENCH_BATON_LOG_LEVEL: LOG_LEVEL };
      if (file === DIST_SERVER) env.BENCH_BATON_CONFIG = JSON.stringify(batonBenchConfig(port));
      const { child, ready } = await children.start(name, file, { cpu: pinning.server, env, nodeArgs: SERVER_NODE_ARGS });
      const tally = new Tally(name);
      // Idle: started, listening, not one request served yet.
      const idle = await child.request<Stats>({ type: 'stats' }, 'stats');
      tally.memory.idleRss = idle.rss;
      tally.memory.idleHeap = idle.heapUsed;
      await verify(name, ready.url!);
      return { tally, child, url: ready.url! };
    };
    const servers = [DIST ? await start('Baton dist', DIST_SERVER) : await start('Baton', './baton-server.ts'), await start('bare', './bare-server.ts')];
    const cpu = async (server: Server) => (await server.child.request<Stats>({ type: 'stats' }, 'stats')).cpuMicros;

    for (const server of servers) {
      console.log(`warming up ${server.tally.name} ...`);
      await run(server.url, WARMUP);
    }
    console.log(`measuring (${ROUNDS} x ${(DURATION / ROUNDS).toFixed(1)} s per server) ...`);
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
        const before = await cpu(server);
        // Memory under load: sampled in the middle of the slice (the highest sample is kept).
        const sample = sleep((DURATION / ROUNDS) * 500).then(() => server.child.request<Stats>({ type: 'stats' }, 'stats'));
        const result = await run(server.url, DURATION / ROUNDS);
        server.tally.add(result, (await cpu(server)) - before);
        const loaded = await sample;
        server.tally.memory.loadRss = Math.max(server.tally.memory.loadRss, loaded.rss);
        server.tally.memory.loadHeap = Math.max(server.tally.memory.loadHeap, loaded.heapUsed);
      }
    }
    for (const server of servers) server.tally.rss = (await server.child.request<Stats>({ type: 'stats' }, 'stats')).rss;
    console.log('');
    printReport(servers[0]!.tally, servers[1]!.tally);
  } finally {
    await children.stopAll();
    releaseInterrupt();
  }
}

await main();
