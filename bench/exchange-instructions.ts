// Instructions per token exchange of one server, counted by valgrind's callgrind: unlike CPU time,
// the count does not move with the host's load, so two versions can be compared on a busy machine.
// The server child (endpoints-baton.ts or endpoints-bare.ts) runs under callgrind; after a warm-up
// its counters are zeroed (callgrind_control -z), then N exchanges are sent and the counters dumped.
//   node --import tsx bench/exchange-instructions.ts [baton|bare|base]      (several minutes: valgrind is slow)
//   env: BENCH_WARM (300 exchanges), BENCH_N (300), BENCH_CONNECTIONS (4), BENCH_BATON=dist,
//        BENCH_BASELINE=DIR (for `base`: Baton's modules from another tree's dist/ or src/),
//        BENCH_CALLGRIND_OUT=<file> (keep the dump there, for callgrind_annotate),
//        BENCH_NODE_ARGS (e.g. --perf-basic-prof: /tmp/perf-PID.map names the JIT code in the dump),
//        BENCH_CALLGRIND_THREADS=1 (one dump per thread: the main thread's count printed beside the
//        total, BENCH_CALLGRIND_OUT keeps the main thread's)
// The second figure leaves out TurboFan compiling on V8's background threads (backgroundCompileInstructions):
// how many functions turn hot inside the measured window, not work per exchange, and a third of the total.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { exportJWK, generateKeyPair } from 'jose';

import { backgroundCompileInstructions, countInstructionsByThread, tokenPoster } from './callgrind.ts';
import { exchangeBodies } from './endpoints-scenarios.ts';
import { envNumber, freePort } from './support.ts';

const which = process.argv[2] ?? 'baton';
if (!['baton', 'bare', 'base'].includes(which)) throw new Error('usage: bench/exchange-instructions.ts [baton|bare|base]');
const baseline = process.env.BENCH_BASELINE;
if (which === 'base' && !baseline) throw new Error('base: set BENCH_BASELINE to the other tree\'s dist/ or src/');
const WARM = envNumber('BENCH_WARM', 300);
const N = envNumber('BENCH_N', 300);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 4);
const THREADS = process.env.BENCH_CALLGRIND_THREADS === '1';

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-callgrind-'));
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'partner-1', alg: 'ES256', use: 'sig' }] });
const partner = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
const port = await freePort();
const file = new URL(which === 'bare' ? './endpoints-bare.ts' : './endpoints-baton.ts', import.meta.url).pathname;
const child = spawn('valgrind', ['-q', '--tool=callgrind', '--smc-check=all-non-file', ...(THREADS ? ['--separate-threads=yes'] : []), `--callgrind-out-file=${join(dir, 'out')}`, process.execPath, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', file], {
  env: {
    ...process.env, BENCH_PORT: String(port), BENCH_BATON_LOG_LEVEL: process.env.BENCH_BATON_LOG_LEVEL ?? 'info',
    BENCH_PARTNER_JWKS: `http://127.0.0.1:${(partner.address() as { port: number }).port}/jwks`,
    ...(which === 'base' ? { BENCH_BATON_FROM: resolve(baseline!) } : {}),
  },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
await new Promise<void>((resolve, reject) => {
  child.on('message', (message: { type: string }) => { if (message.type === 'ready') resolve(); });
  child.on('exit', (code) => reject(new Error(`${which} exited (code ${code}) before it was ready`)));
});

const poster = tokenPoster(port, CONNECTIONS);

/** Subject JWTs are signed batch by batch: under valgrind on a busy host, a body signed at the start would be too old (maxAge) by the end. */
const BATCH = 100;

async function exchanges(count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += BATCH) {
    const batch = Math.min(BATCH, count - sent);
    const refused = await poster.send(await exchangeBodies(privateKey as CryptoKey, batch));
    if (refused > 0) throw new Error(`${which}: ${refused} of ${batch} exchanges were not 200`);
  }
}

try {
  console.log(`${which}: ${WARM} exchanges of warm-up under callgrind ...`);
  await exchanges(WARM);
  const dump = process.env.BENCH_CALLGRIND_OUT ?? join(dir, 'kept');
  const { total, mainThread } = await countInstructionsByThread(child.pid!, dir, () => exchanges(N), dump);
  // Per thread, the compiling threads' dumps are not kept: their share is the total less the main thread's.
  const steady = THREADS ? `main thread ${(mainThread / N / 1e6).toFixed(2)} M` : `${((total - backgroundCompileInstructions(dump)) / N / 1e6).toFixed(2)} M without TurboFan's background compiling`;
  console.log(`${which}: ${(total / N / 1e6).toFixed(2)} M instructions per token exchange, ${steady} (${N} measured, ${CONNECTIONS} in flight; child pid ${child.pid})`);
} finally {
  child.send({ type: 'stop' });
  await new Promise((resolve) => child.once('exit', resolve));
  poster.close();
  partner.close();
  rmSync(dir, { recursive: true, force: true });
}
