// Instructions per client_credentials request of the tracing benchmark's server (bench/tracing.ts)
// with decision traces off or on, counted by valgrind's callgrind (the method of
// exchange-instructions.ts): the count does not move with the host's load, where the CPU-time
// ratios of tracing.ts move by 0.05-0.10 from one run to the next.
//   node --import tsx bench/tracing-instructions.ts [off|0|1]   (explain off, on at sample 0, on at sample 1)
//   env: BENCH_BATON=dist (Baton compiled, as installed), BENCH_BATON_SRC=DIR (another tree's dist/ or src/),
//        BENCH_WARM (1500 requests), BENCH_N (1000), BENCH_CONNECTIONS (4), BENCH_TRACE_FLUSH_MS (1000: under
//        callgrind ~80 requests a second arrive, so a 1 s flush delay writes pages of as many traces as
//        the default 20 ms does at ~4,000 a second; with 20 ms each trace would be written alone),
//        BENCH_CALLGRIND_OUT (keep the main thread's dump there, for callgrind_annotate)
// Printed: all threads, the main thread (the request path and SQLite's writes), and all threads
// without TurboFan's background compiling (how many functions turn hot inside the window).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { backgroundCompileInstructions, countInstructionsByThread, tokenPoster } from './callgrind.ts';
import { TOKEN_REQUEST } from './fixture.ts';
import { envNumber, freePort } from './support.ts';

const explain = process.argv[2] ?? '1';
if (!['off', '0', '1'].includes(explain)) throw new Error('usage: bench/tracing-instructions.ts [off|0|1]');
const WARM = envNumber('BENCH_WARM', 1500);
const N = envNumber('BENCH_N', 1000);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 4);
const other = process.env.BENCH_BATON_SRC;

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-callgrind-'));
const port = await freePort();
const child = spawn('valgrind', ['-q', '--tool=callgrind', '--smc-check=all-non-file', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'out')}`,
  process.execPath, '--import', 'tsx', new URL('./tracing.ts', import.meta.url).pathname], {
  env: {
    BENCH_TRACE_FLUSH_MS: '1000', ...process.env, BENCH_TRACING_ROLE: 'server', BENCH_PORT: String(port), BENCH_EXPLAIN: explain,
    BENCH_STORAGE_JSON: JSON.stringify({ type: 'sqlite', path: join(dir, 'baton.db') }),
    ...(other ? { BENCH_BATON_SRC: resolve(other) } : {}),
  },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
await new Promise<void>((ready, reject) => {
  child.on('message', (message: { type: string }) => { if (message.type === 'ready') ready(); });
  child.on('exit', (code) => reject(new Error(`the server exited (code ${code}) before it was ready`)));
});
const poster = tokenPoster(port, CONNECTIONS, { authorization: TOKEN_REQUEST.headers.authorization });
const requests = async (count: number) => {
  const refused = await poster.send(Array.from({ length: count }, () => TOKEN_REQUEST.body));
  if (refused > 0) throw new Error(`${refused} of ${count} requests were not 200`);
};

const name = `${other ? `${other}: ` : ''}explain ${explain === 'off' ? 'off' : `on, sample ${explain}`}`;
try {
  console.log(`${name}: ${WARM} requests of warm-up under callgrind ...`);
  await requests(WARM);
  const dump = process.env.BENCH_CALLGRIND_OUT ?? join(dir, 'kept');
  const { total, mainThread } = await countInstructionsByThread(child.pid!, dir, () => requests(N), dump);
  // TurboFan compiles on V8's worker threads: one dump per thread beside the main thread's.
  const compiling = readdirSync(dir).filter((file) => file.startsWith('out.')).reduce((sum, file) => sum + backgroundCompileInstructions(join(dir, file)), 0);
  const per = (count: number) => `${(count / N / 1e3).toFixed(0)} k`;
  console.log(`${name}: ${per(total)} instructions per request, main thread ${per(mainThread)}, without TurboFan's compiling ${per(total - compiling)} (${N} measured, ${CONNECTIONS} in flight; child pid ${child.pid})`);
} finally {
  child.send({ type: 'stop' });
  await new Promise((done) => child.once('exit', done));
  poster.close();
  rmSync(dir, { recursive: true, force: true });
}
