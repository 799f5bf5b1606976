// Benchmark: client_credentials (ES256 RFC 9068 JWT) side by side on three servers: Baton on its
// lean token path (src/http/lean-token.ts), Baton through the full Koa pipeline
// (BENCH_BATON_LEAN=0), and bare oidc-provider; slices alternate between them so host drift hits
// all three alike. Issue 16 target 2: lean throughput >= 1.3 x bare (CPU/request <= 0.77 x bare).
import { RESOURCE, TOKEN_REQUEST } from './fixture.ts';
import type { LoadResult } from './load.ts';
import { type Child, Children, choosePinning, onInterrupt } from './processes.ts';
import { Tally } from './report.ts';
import type { ServerMessage } from './server-ipc.ts';
import { envNumber, freePort, recordSummary } from './support.ts';

const WARMUP = envNumber('BENCH_WARMUP', 3);
const DURATION = envNumber('BENCH_DURATION', 10);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 10);
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 5));
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const LOG_LEVEL = process.env.BENCH_BATON_LOG_LEVEL ?? 'info';

type Stats = Extract<ServerMessage, { type: 'stats' }>;
interface Server { tally: Tally; child: Child; url: string }

async function verify(name: string, url: string): Promise<void> {
  const response = await fetch(url + TOKEN_REQUEST.path, { method: TOKEN_REQUEST.method, headers: TOKEN_REQUEST.headers, body: TOKEN_REQUEST.body });
  const body = (await response.json()) as { access_token?: string };
  const payload = JSON.parse(Buffer.from(body.access_token?.split('.')[1] ?? '', 'base64url').toString() || '{}') as { aud?: string };
  if (response.status !== 200 || payload.aud !== RESOURCE) throw new Error(`${name}: expected a 200 with a JWT for ${RESOURCE}, got ${response.status}`);
}

async function main(): Promise<void> {
  const pinning = choosePinning();
  console.log('client_credentials + ES256 JWT: Baton lean path vs Baton full pipeline vs bare oidc-provider');
  console.log(`per server: ${WARMUP} s warm-up, ${DURATION} s measured in ${ROUNDS} rotating slices; ${CONNECTIONS} connections; Baton log level ${LOG_LEVEL}`);
  console.log(pinning.note ? `note: ${pinning.note}` : `servers pinned to CPU ${pinning.server} (one loaded at a time), autocannon to CPU ${pinning.load}`);
  const children = new Children();
  const releaseInterrupt = onInterrupt(() => children.stopAll());
  try {
    const { child: load } = await children.start('load', './load.ts', { cpu: pinning.load });
    const run = (url: string, duration: number) => load.request<LoadResult>({ type: 'run', url, duration, connections: CONNECTIONS }, 'result');
    const start = async (name: string, file: string, env: Record<string, string> = {}): Promise<Server> => {
      const { child, ready } = await children.start(name, file, { cpu: pinning.server, env: { BENCH_PORT: String(await freePort()), BENCH_BATON_LOG_LEVEL: LOG_LEVEL, ...env }, nodeArgs: SERVER_NODE_ARGS });
      await verify(name, ready.url!);
      return { tally: new Tally(name), child, url: ready.url! };
    };
    const servers = [
      await start('Baton lean', './baton-server.ts'),
      await start('Baton Koa', './baton-server.ts', { BENCH_BATON_LEAN: '0' }),
      await start('bare', './bare-server.ts'),
    ];
    const cpu = async (server: Server) => (await server.child.request<Stats>({ type: 'stats' }, 'stats')).cpuMicros;
    for (const server of servers) await run(server.url, WARMUP);
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round: no server always follows the same one.
      for (let i = 0; i < servers.length; i++) {
        const server = servers[(i + round) % servers.length]!;
        const before = await cpu(server);
        const result = await run(server.url, DURATION / ROUNDS);
        server.tally.add(result, (await cpu(server)) - before);
      }
    }
    for (const server of servers) server.tally.rss = (await server.child.request<Stats>({ type: 'stats' }, 'stats')).rss;
    const [lean, koa, bare] = servers.map((s) => s.tally) as [Tally, Tally, Tally];
    console.log('');
    const header = ['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'RSS MiB', 'non-2xx+errors'];
    const rows = [lean, koa, bare].map((t) => [t.name, t.requestsPerSecond.toFixed(0), t.percentile(50).toFixed(2), t.percentile(99).toFixed(2), t.cpuMicrosPerRequest.toFixed(0), (t.rss / 2 ** 20).toFixed(1), String(t.failures.non2xx + t.failures.errors)]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
    console.log('');
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(`throughput lean/bare:      ${ratio(lean.requestsPerSecond, bare.requestsPerSecond)}   target >= 1.3`);
    console.log(`CPU µs/request lean/bare:  ${ratio(lean.cpuMicrosPerRequest, bare.cpuMicrosPerRequest)}   target <= 0.77`);
    console.log(`throughput Koa/bare:       ${ratio(koa.requestsPerSecond, bare.requestsPerSecond)}`);
    console.log(`CPU µs/request lean/Koa:   ${ratio(lean.cpuMicrosPerRequest, koa.cpuMicrosPerRequest)}`);
    recordSummary([
      { benchmark: 'machine_grants', figure: 'client_credentials throughput lean/bare', value: ratio(lean.requestsPerSecond, bare.requestsPerSecond), target: '>= 1.3' },
      { benchmark: 'machine_grants', figure: 'client_credentials CPU/request lean/bare', value: ratio(lean.cpuMicrosPerRequest, bare.cpuMicrosPerRequest), target: '<= 0.77' },
    ]);
  } finally {
    await children.stopAll();
    releaseInterrupt();
  }
}

await main();
