// Benchmark: every endpoint of Baton beside bare oidc-provider configured the same way (discovery,
// JWKS, introspection, userinfo, code redemption, refresh, token exchange against a minimal reference
// grant), with the method of client-credentials.ts: servers pinned to one CPU, the load generator to
// the other, alternating slices, CPU µs per request from each server's own process.cpuUsage().
//   npm run bench:endpoints [-- code refresh ...]   (= node --import tsx bench/endpoints.ts)
//   env: BENCH_DURATION (4 s per server and workload), BENCH_WARMUP (5), BENCH_ROUNDS (4),
//        BENCH_CONNECTIONS (10), BENCH_BATON_LOG_LEVEL (info), BENCH_SERVER_NODE_ARGS,
//        BENCH_BATON=dist (Baton's compiled dist/, after `npm run build`; default its sources under tsx),
//        BENCH_BASELINE=DIR (a third server, "base": Baton from another tree's dist/ or src/, e.g. the
//        code before a change, measured in the same alternating slices: paired before/after figures)
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { exportJWK, generateKeyPair } from 'jose';

import type { PoolKind, PrepareReply, PrepareRequest } from './endpoints-fixture.ts';
import type { EndpointPooled, EndpointResult, EndpointRun } from './endpoints-load.ts';
import { printEndpointReport, type Row } from './endpoints-report.ts';
import { exchangeBodies, SCENARIOS, type Target } from './endpoints-scenarios.ts';
import { type Child, Children, choosePinning, onInterrupt } from './processes.ts';
import { Tally } from './report.ts';
import type { ServerMessage } from './server-ipc.ts';
import { BATON_DIST, checkBuild, envNumber, freePort } from './support.ts';

/**
 * Seconds of warm-up per server and workload, in one-second runs (each pool topped up at the rate
 * seen so far). One second left bare oidc-provider's wider Koa path less optimized than Baton's lean
 * one: refresh read 1.01-1.10 bare/Baton after 1 s, 0.95-0.97 after 5 or 10 s, as after another
 * workload (2026-12-07, bench/README.md).
 */
const WARMUP = envNumber('BENCH_WARMUP', 5);
const DURATION = envNumber('BENCH_DURATION', 4);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 10);
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 4));
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const LOG_LEVEL = process.env.BENCH_BATON_LOG_LEVEL ?? 'info';
const BASELINE = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined;
/** Pools are topped up to this many times the requests the fastest slice so far would need. */
const MARGIN = 1.5;

type Stats = Extract<ServerMessage, { type: 'stats' }>;
interface Server extends Target { name: string; child: Child }

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const chosen = SCENARIOS.filter((s) => only.length === 0 || only.includes(s.name));
  if (chosen.length === 0) throw new Error(`no workload named ${only.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const pinning = choosePinning();
  const oidcVersion = (createRequire(import.meta.url)('oidc-provider/package.json') as { version: string }).version;
  console.log(`endpoints: Baton vs bare oidc-provider ${oidcVersion}, node ${process.version}: ${chosen.map((s) => s.name).join(', ')}`);
  console.log(`per server and workload: ${WARMUP} s warm-up, then ${DURATION} s measured in ${ROUNDS} alternating slices; ${CONNECTIONS} connections; Baton log level ${LOG_LEVEL} (stdout discarded)`);
  console.log(BATON_DIST
    ? 'Baton: its compiled dist/ (BENCH_BATON=dist; the child loads tsx only for the benchmark fixtures); bare: under node --import tsx'
    : 'both servers run their TypeScript under node --import tsx (BENCH_BATON=dist: Baton compiled)');
  if (BATON_DIST) checkBuild();
  if (BASELINE) console.log(`base: Baton's modules from ${BASELINE} (BENCH_BASELINE), in the same alternating slices`);
  console.log(pinning.note ? `note: ${pinning.note}` : `servers pinned to CPU ${pinning.server} (one loaded at a time), load generator to CPU ${pinning.load}`);

  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-endpoints-'));
  const children = new Children();
  // The partner whose JWTs are exchanged: an ES256 key here, its JWKS on 127.0.0.1 (fetched once by each server).
  const { privateKey: partnerKey, publicKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'partner-1', alg: 'ES256', use: 'sig' }] });
  const partner = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
  const partnerJwks = `http://127.0.0.1:${(partner.address() as { port: number }).port}/jwks`;
  const cleanup = async () => {
    await children.stopAll();
    partner.closeAllConnections();
    partner.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const releaseInterrupt = onInterrupt(() => cleanup());
  let files = 0;
  const nextFile = () => join(dir, `pool-${files++}.json`);
  try {
    const { child: load } = await children.start('load', './endpoints-load.ts', { cpu: pinning.load });
    const start = async (name: string, file: string, from?: string): Promise<Server> => {
      const env = { BENCH_PORT: String(await freePort()), BENCH_BATON_LOG_LEVEL: LOG_LEVEL, BENCH_PARTNER_JWKS: partnerJwks, BENCH_BATON: BATON_DIST ? 'dist' : '', ...(from ? { BENCH_BATON_FROM: from } : {}) };
      const { child, ready } = await children.start(name, file, { cpu: pinning.server, env, nodeArgs: SERVER_NODE_ARGS });
      const prepare = async (kind: PoolKind | 'userinfo-code', count: number) => {
        const file = nextFile();
        const reply = await child.request<PrepareReply>({ type: 'prepare', kind, count, file } satisfies PrepareRequest, 'prepared');
        if (reply.error !== undefined) throw new Error(`${name}: seeding ${kind} failed: ${reply.error}`);
        return JSON.parse(readFileSync(file, 'utf8')) as string[];
      };
      return { name, child, url: ready.url!, prepare };
    };
    const servers = [await start('Baton', './endpoints-baton.ts'), await start('bare', './endpoints-bare.ts'), ...(BASELINE ? [await start('base', './endpoints-baton.ts', BASELINE)] : [])];
    const stats = (server: Server) => server.child.request<Stats>({ type: 'stats' }, 'stats');
    const rows: Row[] = [];

    for (const scenario of chosen) {
      const bodies = (server: Server, count: number) => (scenario.pool === 'exchange' ? exchangeBodies(partnerKey, count) : server.prepare(scenario.pool!, count));
      const fill = async (server: Server, count: number) => {
        if (!scenario.pool || count <= 0) return;
        const file = nextFile();
        writeFileSync(file, JSON.stringify(await bodies(server, Math.ceil(count))));
        await load.request<EndpointPooled>({ type: 'pool', key: `${server.name}:${scenario.name}`, file }, 'pooled');
      };
      const ready = await Promise.all(servers.map(async (server) => {
        const request = await scenario.request(server);
        const body = scenario.pool ? (await bodies(server, 1))[0] : request.body;
        const response = await fetch(server.url + request.path, { method: request.method, headers: request.headers, ...(body !== undefined ? { body } : {}) });
        const problem = scenario.check(response.status, await response.text(), server);
        if (problem) throw new Error(`${server.name}, ${scenario.name}: the check request ${problem}`);
        return { server, request, tally: new Tally(server.name), fastest: scenario.guess ?? 0, remaining: 0, dry: 0, system: 0 };
      }));
      // Enough one-time artifacts for a slice at the fastest rate seen so far, prepared before it (not measured).
      const topUp = (entry: (typeof ready)[number], seconds: number) => fill(entry.server, entry.fastest * seconds * MARGIN + 20 - entry.remaining);
      const run = async (entry: (typeof ready)[number], seconds: number): Promise<EndpointResult> => {
        const message: EndpointRun = { type: 'run', url: entry.server.url, duration: seconds, connections: CONNECTIONS, request: entry.request, ...(scenario.pool ? { pool: `${entry.server.name}:${scenario.name}` } : {}) };
        const result = await load.request<EndpointResult>(message as unknown as Record<string, unknown> & { type: string }, 'result');
        entry.remaining = result.remaining;
        entry.fastest = Math.max(entry.fastest, result.total / result.seconds);
        if (result.samples.length > 0) console.log(`[${entry.server.name}] ${scenario.name}: ${result.samples[0]}`);
        return result;
      };
      process.stdout.write(`${scenario.name}: warm-up`);
      for (const entry of ready) {
        for (let left = WARMUP; left > 0; left -= 1) {
          await topUp(entry, Math.min(1, left));
          await run(entry, Math.min(1, left));
        }
      }
      process.stdout.write(', measuring');
      for (let round = 0; round < ROUNDS; round++) {
        for (const entry of round % 2 === 0 ? ready : [...ready].reverse()) {
          await topUp(entry, DURATION / ROUNDS);
          const before = await stats(entry.server);
          const result = await run(entry, DURATION / ROUNDS);
          const after = await stats(entry.server);
          entry.tally.add(result, after.cpuMicros - before.cpuMicros);
          entry.system += after.systemMicros - before.systemMicros;
          if (result.exhausted) entry.dry += 1;
        }
      }
      console.log(` done (system CPU µs/req: ${ready.map((e) => `${e.server.name} ${(e.system / Math.max(e.tally.requests, 1)).toFixed(0)}`).join(', ')})`);
      rows.push({ scenario, baton: ready[0]!.tally, bare: ready[1]!.tally, ...(ready[2] ? { base: ready[2].tally } : {}), dry: ready.filter((e) => e.dry > 0).map((e) => e.server.name) });
    }
    for (const server of servers) {
      const { rss, heapUsed } = await stats(server);
      console.log(`${server.name}: RSS ${(rss / 2 ** 20).toFixed(0)} MiB, heap used ${(heapUsed / 2 ** 20).toFixed(0)} MiB after all workloads`);
    }
    console.log('');
    printEndpointReport(rows);
  } finally {
    await cleanup();
    releaseInterrupt();
  }
}

await main();
