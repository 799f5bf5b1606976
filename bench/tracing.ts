// Benchmark: what decision traces (docs/explain.md) cost on the client_credentials hot path. The
// same Baton three times, side by side: `explain` off, on with `sample: 0` (every request recorded,
// granted ones not stored), and on with `sample: 1` (every request recorded and stored); with
// BENCH_BASELINE_SRC=/path/to/other/checkout/src, also that checkout's Baton (e.g. main before
// traces) to show that "off" costs nothing. Servers on one CPU, autocannon on the other, measured
// in alternating slices; off and sample 1 in BENCH_TRACING_PROCESSES (2) processes each, taking
// turns. This file is also the server child (BENCH_TRACING_ROLE=server).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { CLIENT_ID, CLIENT_SECRET, RESOURCE, SCOPES, TOKEN_REQUEST, TOKEN_TTL } from './fixture.ts';
import type { LoadResult } from './load.ts';
import { type Child, Children, choosePinning, onInterrupt } from './processes.ts';
import { Tally } from './report.ts';
import { benchPort, serveBenchIpc, type ServerMessage } from './server-ipc.ts';
import { BackendPlaces } from './storage-backends.ts';
import { BATON_DIST, batonModule, checkBuild, envNumber, freePort, recordSummary } from './support.ts';

const WARMUP = envNumber('BENCH_WARMUP', 3);
const DURATION = envNumber('BENCH_DURATION', 10);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 10);
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 5));
/**
 * Server processes each of `off` and `sample 1` (default 2). Two identical servers differ by 2-9 %
 * even over a minute of alternating slices (their layout, their JIT's choices: bench/README.md,
 * 2026-12-07), more than tracing costs: the ratio is taken between the configurations' mean rates,
 * and the range of every process pair is printed beside it.
 */
const PROCESSES = Math.round(envNumber('BENCH_TRACING_PROCESSES', 2));
/** With one process each: a second, identical sample-1 server as the run's noise band (BENCH_TRACING_CONTROL=0 leaves it out). */
const CONTROL = PROCESSES === 1 && process.env.BENCH_TRACING_CONTROL !== '0';
/** Extra node flags for the server children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
/**
 * Where traces go: `sqlite` (the default backend; a fresh file per server), `postgres` or `redis`
 * (127.0.0.1, a throwaway schema or key prefix: bench/storage-backends.ts), or `memory`. With
 * `memory` every stored trace stays in the server's own heap, so the run measures that heap's
 * growth (garbage collection) more than tracing; a real store keeps them out of the process.
 */
const STORAGE = (['memory', 'postgres', 'redis'] as const).find((name) => name === process.env.BENCH_STORAGE) ?? 'sqlite';
const scratch: string[] = [];
const places = new BackendPlaces();
const storage = (): Record<string, unknown> => {
  // A server child gets its storage from the runner (so that the runner removes it afterwards).
  if (process.env.BENCH_STORAGE_JSON) return JSON.parse(process.env.BENCH_STORAGE_JSON) as Record<string, unknown>;
  if (STORAGE === 'memory') return { type: 'memory' };
  if (STORAGE === 'postgres' || STORAGE === 'redis') return places.backends().find((b) => b.name === STORAGE)!.storage;
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-traces-'));
  scratch.push(dir);
  return { type: 'sqlite', path: join(dir, 'baton.db') };
};
const removeScratch = async () => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const problem of await places.cleanup()) console.error(`clean-up: ${problem}`);
};

async function serve(): Promise<void> {
  const from = process.env.BENCH_BATON_SRC;
  const { validateConfig } = await import(batonModule('config/load', from)) as typeof import('../src/config/load.ts');
  const { createBaton } = await import(batonModule('server', from)) as typeof import('../src/server.ts');
  const explain = process.env.BENCH_EXPLAIN;
  const port = benchPort();
  const config = validateConfig({
    issuer: `http://127.0.0.1:${port}`,
    server: { host: '127.0.0.1', port, shutdownGracePeriod: 1 },
    storage: storage(),
    keys: { masterSecret: 'bench-master-secret-0123456789abcdefghij', signing: ['ES256'] },
    ttl: { clientCredentials: TOKEN_TTL },
    logging: { level: process.env.BENCH_BATON_LOG_LEVEL ?? 'warn' },
    resources: [{ id: RESOURCE, scopes: [...SCOPES], accessTokenFormat: 'jwt' }],
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], resources: [{ id: RESOURCE }] }],
    ...(explain === undefined ? {} : { explain: { enabled: explain !== 'off', sample: explain === 'off' ? 1 : Number(explain), ttl: '1h' } }),
  }, 'bench config');
  // BENCH_TRACE_FLUSH_MS (tracing-instructions.ts): under callgrind the server runs ~50 times slower,
  // and a longer flush delay gathers as many traces per write as the default 20 ms does at full speed.
  const flushDelay = process.env.BENCH_TRACE_FLUSH_MS ? Number(process.env.BENCH_TRACE_FLUSH_MS) : undefined;
  const baton = await createBaton(config, { keyReloadInterval: 0, ...(flushDelay ? { traceWrites: { flushDelay } } : {}) });
  await baton.listen(port, '127.0.0.1');
  serveBenchIpc(config.issuer, () => baton.close());
}

type Stats = Extract<ServerMessage, { type: 'stats' }>;
interface Server { tally: Tally; child: Child; url: string }

/** [a1, b1, c1, a2, c2, a3, c3, ...]: one of each group in turn while any is left. */
function interleave<T>(...groups: T[][]): T[] {
  const order: T[] = [];
  for (let i = 0; i < Math.max(...groups.map((g) => g.length)); i++) for (const group of groups) if (i < group.length) order.push(group[i]!);
  return order;
}

async function main(): Promise<void> {
  const pinning = choosePinning();
  const baseline = process.env.BENCH_BASELINE_SRC;
  console.log(`decision traces on the client_credentials hot path (JWT access token, ES256, ${STORAGE} store)`);
  console.log(`per server: ${WARMUP} s warm-up, then ${DURATION} s measured in ${ROUNDS} alternating slices; ${CONNECTIONS} connections`);
  console.log(BATON_DIST ? 'Baton: its compiled dist/ (BENCH_BATON=dist), as installed' : 'Baton: its TypeScript sources under tsx (BENCH_BATON=dist: compiled)');
  if (BATON_DIST) checkBuild();
  console.log(pinning.note ? `note: ${pinning.note}` : `servers pinned to CPU ${pinning.server} (one loaded at a time), load generator to CPU ${pinning.load}`);
  if (STORAGE === 'postgres' || STORAGE === 'redis') await places.check();
  const children = new Children();
  const releaseInterrupt = onInterrupt(() => children.stopAll());
  try {
    const { child: load } = await children.start('load', './load.ts', { cpu: pinning.load });
    const run = (url: string, duration: number) => load.request<LoadResult>({ type: 'run', url, duration, connections: CONNECTIONS }, 'result');
    const start = async (name: string, env: Record<string, string>): Promise<Server> => {
      const { child, ready } = await children.start(name, './tracing.ts', { cpu: pinning.server, nodeArgs: SERVER_NODE_ARGS, env: { BENCH_TRACING_ROLE: 'server', BENCH_PORT: String(await freePort()), BENCH_STORAGE_JSON: JSON.stringify(storage()), ...env } });
      const response = await fetch(ready.url! + TOKEN_REQUEST.path, { method: TOKEN_REQUEST.method, headers: TOKEN_REQUEST.headers, body: TOKEN_REQUEST.body });
      if (response.status !== 200) throw new Error(`${name}: POST /token answered ${response.status}: ${await response.text()}`);
      return { tally: new Tally(name), child, url: ready.url! };
    };
    /** PROCESSES servers of one configuration: `name`, or `name #1`, `name #2`, ... */
    const several = async (name: string, env: Record<string, string>): Promise<Server[]> => {
      const started: Server[] = [];
      for (let i = 1; i <= PROCESSES; i++) started.push(await start(PROCESSES === 1 ? name : `${name} #${i}`, env));
      return started;
    };
    const servers = [
      // BENCH_BASELINE_EXPLAIN=1 (or 0): the other checkout with explain on at that sample, to compare two trees' tracing.
      ...(baseline ? [await start('baseline', { BENCH_BATON_SRC: baseline, ...(process.env.BENCH_BASELINE_EXPLAIN ? { BENCH_EXPLAIN: process.env.BENCH_BASELINE_EXPLAIN } : {}) })] : []),
      // Several processes of a configuration take turns with the other's (off #1, sample 1 #1, off #2,
      // ...): contiguous groups would meet the host's drift within a round at the same places.
      ...interleave(await several('explain off', { BENCH_EXPLAIN: 'off' }), [await start('on, sample 0', { BENCH_EXPLAIN: '0' })], await several('on, sample 1', { BENCH_EXPLAIN: '1' })),
      // The same server again: how far two identical servers land apart in this run (host drift,
      // disk writeback of the other servers' traces) is the band any ratio below is read within.
      ...(CONTROL ? [await start('sample 1 (A/A)', { BENCH_EXPLAIN: '1' })] : []),
    ];
    const cpu = async (server: Server) => (await server.child.request<Stats>({ type: 'stats' }, 'stats')).cpuMicros;
    for (const server of servers) await run(server.url, WARMUP);
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
        const before = await cpu(server);
        const result = await run(server.url, DURATION / ROUNDS);
        server.tally.add(result, (await cpu(server)) - before);
      }
    }
    const of = (name: string) => servers.filter((s) => s.tally.name === name || s.tally.name.startsWith(`${name} #`)).map((s) => s.tally);
    const offs = of('explain off');
    const ons = of('on, sample 1');
    const mean = (tallies: Tally[], figure: (t: Tally) => number) => tallies.reduce((sum, t) => sum + figure(t), 0) / tallies.length;
    // With one process each, these are that process's own figures.
    const off = { requestsPerSecond: mean(offs, (t) => t.requestsPerSecond), cpuMicrosPerRequest: mean(offs, (t) => t.cpuMicrosPerRequest) };
    console.log('');
    console.log(['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'vs off', 'non-2xx'].map((h, i) => (i === 0 ? h.padEnd(14) : h.padStart(10))).join(''));
    for (const { tally } of servers) {
      console.log([tally.name.padEnd(14), tally.requestsPerSecond.toFixed(0), tally.percentile(50).toFixed(2), tally.percentile(99).toFixed(2), tally.cpuMicrosPerRequest.toFixed(0),
        (tally.requestsPerSecond / off.requestsPerSecond).toFixed(3), String(tally.failures.non2xx + tally.failures.errors)].map((c, i) => (i === 0 ? c : c.padStart(10))).join(''));
    }
    const on = { requestsPerSecond: mean(ons, (t) => t.requestsPerSecond), cpuMicrosPerRequest: mean(ons, (t) => t.cpuMicrosPerRequest) };
    const ratio = on.requestsPerSecond / off.requestsPerSecond;
    console.log(`\nthroughput on (sample 1)/off: ${ratio.toFixed(3)}${PROCESSES > 1 ? ` (mean rates of ${PROCESSES} processes each)` : ''}   Target: >= 0.90 (tracing every request costs at most 10 %)`);
    const pairs = ons.flatMap((o) => offs.map((f) => o.requestsPerSecond / f.requestsPerSecond)).sort((a, b) => a - b);
    const pairRange = `${pairs[0]!.toFixed(3)} to ${pairs.at(-1)!.toFixed(3)}`;
    if (PROCESSES > 1) {
      console.log(`  every sample-1 process against every off process: ${pairRange}; off processes among themselves: ${(Math.min(...offs.map((t) => t.requestsPerSecond)) / Math.max(...offs.map((t) => t.requestsPerSecond))).toFixed(3)}`);
    }
    const control = servers.find((s) => s.tally.name === 'sample 1 (A/A)')?.tally;
    if (control) console.log(`the same server again (A/A):  ${(control.requestsPerSecond / off.requestsPerSecond).toFixed(3)}   (the spread between the two is this run's noise)`);
    // CPU per request is what a saturated server's throughput follows (1 s / CPU per request); it is
    // also what another process taking the server's CPU moves least.
    const capacity = off.cpuMicrosPerRequest / on.cpuMicrosPerRequest;
    console.log(`capacity on/off (CPU µs/req off/on): ${capacity.toFixed(3)}${control ? `; A/A twin ${(off.cpuMicrosPerRequest / control.cpuMicrosPerRequest).toFixed(3)}` : ''}   (the throughput a fully used CPU gives, on/off)`);
    const base = servers.find((s) => s.tally.name === 'baseline')?.tally;
    if (base) console.log(`throughput off/baseline:      ${(off.requestsPerSecond / base.requestsPerSecond).toFixed(3)}   Target: ~1.00 (off costs nothing measurable)`);
    recordSummary([
      { benchmark: 'tracing', figure: 'client_credentials req/s off / on (sample 1)', value: `${off.requestsPerSecond.toFixed(0)} / ${on.requestsPerSecond.toFixed(0)}` },
      { benchmark: 'tracing', figure: 'throughput on/off', value: ratio.toFixed(3), target: '>= 0.90' },
      { benchmark: 'tracing', figure: 'capacity on/off (CPU per request off/on)', value: capacity.toFixed(3), target: '>= 0.90' },
      ...(control ? [{ benchmark: 'tracing', figure: 'throughput on/off, identical server (A/A)', value: (control.requestsPerSecond / off.requestsPerSecond).toFixed(3) }] : []),
      ...(PROCESSES > 1 ? [{ benchmark: 'tracing', figure: `throughput on/off, each of the ${PROCESSES * PROCESSES} process pairs`, value: pairRange }] : []),
      ...(base ? [{ benchmark: 'tracing', figure: 'throughput off/baseline', value: (off.requestsPerSecond / base.requestsPerSecond).toFixed(3), target: '~1.00' }] : []),
    ]);
  } finally {
    await children.stopAll();
    await removeScratch();
    releaseInterrupt();
  }
}

/**
 * `--interleaved`: every server in this one process, the load too, in many short batches taken in
 * rotating order; the median batch throughput per server. Slower in absolute terms (client and
 * servers share a CPU) but robust on a machine shared with other work, where the long slices of
 * the default mode drift more than the difference being measured.
 */
async function interleaved(): Promise<void> {
  const batches = Math.round(envNumber('BENCH_BATCHES', 60));
  const perBatch = Math.round(envNumber('BENCH_BATCH_REQUESTS', 200));
  const pino = (await import('pino')).default;
  const own = new URL('../src/', import.meta.url).href;
  const baseline = process.env.BENCH_BASELINE_SRC ? pathToFileURL(`${process.env.BENCH_BASELINE_SRC}/`).href : undefined;
  const variants: Array<[string, Record<string, unknown> | undefined, string]> = [
    ['explain off', undefined, own], ['on, sample 0', { enabled: true, sample: 0 }, own], ['on, sample 1', { enabled: true, sample: 1 }, own],
    ...(baseline ? [['baseline', undefined, baseline] as [string, undefined, string]] : []),
  ];
  const servers: Array<{ name: string; url: string; rates: number[]; cpu: number[]; close: () => Promise<void> }> = [];
  for (const [name, explain, src] of variants) {
    const { validateConfig } = await import(`${src}config/load.ts`) as typeof import('../src/config/load.ts');
    const { createBaton } = await import(`${src}server.ts`) as typeof import('../src/server.ts');
    const port = await freePort();
    const config = validateConfig({
      issuer: `http://127.0.0.1:${port}`, server: { host: '127.0.0.1', port }, storage: storage(),
      keys: { masterSecret: 'bench-master-secret-0123456789abcdefghij', signing: ['ES256'] }, ttl: { clientCredentials: TOKEN_TTL },
      resources: [{ id: RESOURCE, scopes: [...SCOPES], accessTokenFormat: 'jwt' }],
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], resources: [{ id: RESOURCE }] }],
      ...(explain ? { explain: { ...explain, ttl: '1h' } } : {}),
    }, 'bench config');
    const silent = pino({ level: 'silent' });
    const baton = await createBaton(config, { keyReloadInterval: 0, logger: silent, accessLogger: silent });
    await baton.listen(port, '127.0.0.1');
    servers.push({ name, url: config.issuer, rates: [], cpu: [], close: () => baton.close() });
  }
  /** Requests per second, and CPU microseconds per request (this process: the load and every server). */
  const batch = async (url: string): Promise<[number, number]> => {
    let left = perBatch;
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      while (left-- > 0) {
        const response = await fetch(url + TOKEN_REQUEST.path, { method: 'POST', headers: TOKEN_REQUEST.headers, body: TOKEN_REQUEST.body });
        if (response.status !== 200) throw new Error(`POST /token answered ${response.status}`);
        await response.arrayBuffer();
      }
    }));
    const cpu = process.cpuUsage(cpuBefore);
    return [perBatch / ((performance.now() - started) / 1000), (cpu.user + cpu.system) / perBatch];
  };
  console.log(`interleaved, in one process (${STORAGE} store): ${batches} batches of ${perBatch} requests per server, ${CONNECTIONS} concurrent, rotating order; median batch throughput`);
  try {
    for (const server of servers) for (let i = 0; i < 3; i++) await batch(server.url);
    for (let round = 0; round < batches; round++) {
      for (let i = 0; i < servers.length; i++) {
        const server = servers[(round + i) % servers.length]!;
        const [rate, cpu] = await batch(server.url);
        server.rates.push(rate);
        server.cpu.push(cpu);
      }
    }
  } finally {
    await Promise.all(servers.map((server) => server.close()));
    await removeScratch();
  }
  const median = (values: number[]) => { const sorted = [...values].sort((a, b) => a - b); return sorted[Math.floor(sorted.length / 2)]!; };
  const off = median(servers[0]!.rates);
  const offCpu = median(servers[0]!.cpu);
  for (const server of servers) {
    console.log(`${server.name.padEnd(14)} ${median(server.rates).toFixed(0).padStart(6)} req/s (median), vs off ${(median(server.rates) / off).toFixed(3)}   ${median(server.cpu).toFixed(0).padStart(6)} CPU µs/req (median, load included), vs off ${(median(server.cpu) / offCpu).toFixed(3)}`);
  }
  const ratio = median(servers[2]!.rates) / off;
  console.log(`\nthroughput on (sample 1)/off: ${ratio.toFixed(3)}   Target: >= 0.90`);
  const base = servers.find((server) => server.name === 'baseline');
  if (base) console.log(`throughput off/baseline:      ${(off / median(base.rates)).toFixed(3)}   Target: ~1.00 (off costs nothing measurable)`);
  recordSummary([
    { benchmark: 'tracing (interleaved)', figure: 'throughput on/off', value: ratio.toFixed(3), target: '>= 0.90' },
    ...(base ? [{ benchmark: 'tracing (interleaved)', figure: 'throughput off/baseline', value: (off / median(base.rates)).toFixed(3), target: '~1.00' }] : []),
  ]);
}

if (process.env.BENCH_TRACING_ROLE === 'server') await serve();
else if (process.argv.includes('--interleaved')) await interleaved();
else await main();
