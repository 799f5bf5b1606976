// Instructions per code redemption or refresh of one server, counted by valgrind's callgrind (the
// method of exchange-instructions.ts): unlike CPU time the count does not move with the host's load,
// so two versions of Baton, or Baton and bare oidc-provider, can be compared on a busy machine.
// The server child (endpoints-baton.ts or endpoints-bare.ts) seeds its codes or refresh tokens
// through its own models (endpoints-fixture.ts), then runs under load; after the warm-up its
// counters are zeroed (callgrind_control -z), then N requests are sent and the counters dumped.
//   node --import tsx bench/grant-instructions.ts [baton|bare|base] [code|refresh]   (minutes: valgrind is slow)
//   env: BENCH_WARM (300 requests), BENCH_N (300), BENCH_CONNECTIONS (4), BENCH_BATON=dist,
//        BENCH_BASELINE=DIR (for `base`: Baton's modules from another tree's dist/ or src/),
//        BENCH_BATON_LOG_LEVEL (info), BENCH_CALLGRIND_OUT (keep the dump there, for callgrind_annotate),
//        BENCH_CALLGRIND_THREADS=1 (one dump per thread: the main thread's count printed beside the
//        total, BENCH_CALLGRIND_OUT keeps the main thread's). For bench/callgrind-areas.py, add
//        NODE_OPTIONS=--perf-basic-prof: the child's V8 then writes /tmp/perf-<its pid>.map.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { countInstructionsByThread, tokenPoster } from './callgrind.ts';
import { childReady, preparePool, stopChild } from './grant-child.ts';
import { envNumber, freePort } from './support.ts';

const which = process.argv[2] ?? 'baton';
const workload = process.argv[3] ?? 'code';
if (!['baton', 'bare', 'base'].includes(which) || !['code', 'refresh'].includes(workload)) throw new Error('usage: bench/grant-instructions.ts [baton|bare|base] [code|refresh]');
const baseline = process.env.BENCH_BASELINE;
if (which === 'base' && !baseline) throw new Error('base: set BENCH_BASELINE to the other tree\'s dist/ or src/');
const WARM = envNumber('BENCH_WARM', 300);
const N = envNumber('BENCH_N', 300);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 4);
const THREADS = process.env.BENCH_CALLGRIND_THREADS === '1';

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-callgrind-'));
// Token exchange is not measured here, but the Baton child needs a partner JWKS to start.
const partner = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}'));
await new Promise<void>((ready) => partner.listen(0, '127.0.0.1', ready));
const port = await freePort();
const file = new URL(which === 'bare' ? './endpoints-bare.ts' : './endpoints-baton.ts', import.meta.url).pathname;
const child = spawn('valgrind', ['-q', '--tool=callgrind', '--smc-check=all-non-file', ...(THREADS ? ['--separate-threads=yes'] : []), `--callgrind-out-file=${join(dir, 'out')}`, process.execPath, '--import', 'tsx', file], {
  env: {
    ...process.env, NODE_NO_WARNINGS: '1', BENCH_PORT: String(port), BENCH_BATON_LOG_LEVEL: process.env.BENCH_BATON_LOG_LEVEL ?? 'info',
    BENCH_PARTNER_JWKS: `http://127.0.0.1:${(partner.address() as { port: number }).port}/jwks`,
    ...(which === 'base' ? { BENCH_BATON_FROM: resolve(baseline!) } : {}),
  },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
await childReady(child, which);

const prepare = (count: number) => preparePool(child, dir, workload as 'code' | 'refresh', count);

const poster = tokenPoster(port, CONNECTIONS);
async function send(bodies: readonly string[]): Promise<void> {
  const refused = await poster.send(bodies);
  if (refused > 0) throw new Error(`${which}: ${refused} of ${bodies.length} requests were not 200`);
}

try {
  console.log(`${which}, ${workload}: seeding, then ${WARM} requests of warm-up under callgrind ...`);
  const warm = await prepare(WARM);
  const measured = await prepare(N);
  await send(warm);
  const { total, mainThread } = await countInstructionsByThread(child.pid!, dir, () => send(measured), process.env.BENCH_CALLGRIND_OUT);
  const main = THREADS ? `, main thread ${(mainThread / N / 1e6).toFixed(2)} M` : '';
  console.log(`${which}, ${workload}: ${(total / N / 1e6).toFixed(2)} M instructions per request${main} (${N} measured, ${CONNECTIONS} in flight; child pid ${child.pid})`);
} finally {
  await stopChild(child);
  poster.close();
  partner.close();
  rmSync(dir, { recursive: true, force: true });
}
