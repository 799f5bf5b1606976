// Instructions per Authorizers.decide() (3 authorizers, cache off, ES256 request JWTs, info logs
// into a sink), counted by valgrind's callgrind: unlike CPU time, the count does not move with the
// host's load, so two trees can be compared on a busy machine. The fan-out runs in a worker under
// callgrind (bench/fanout-instructions-worker.ts); the authorizers run in another child, not under
// valgrind. After a warm-up the counters are zeroed (callgrind_control -z), N decisions are made
// and the counters dumped.
//   node --import tsx bench/fanout-instructions.ts [src directory, default this tree's src]
//   env: BENCH_WARM (1500 decisions), BENCH_N (400), BENCH_IN_FLIGHT (50),
//        BENCH_UNSIGNED=1 (a constant request JWT: the fan-out without its three signatures),
//        BENCH_KEEP=<file> (keep the callgrind dump there, for callgrind_annotate),
//        BENCH_THREADS=1 (count each thread apart: also prints the main thread's count, which leaves
//        out TurboFan compiling on background threads, the main source of the total's noise)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { countInstructionsByThread } from './callgrind.ts';
import { Children } from './processes.ts';
import { envNumber } from './support.ts';

const SRC = resolve(process.argv[2] ?? new URL('../src', import.meta.url).pathname);
const WARM = envNumber('BENCH_WARM', 1500);
const N = envNumber('BENCH_N', 400);
const THREADS = Boolean(process.env.BENCH_THREADS);

const dir = mkdtempSync(join(tmpdir(), 'baton-fanout-callgrind-'));
const children = new Children();
try {
  const { ready } = await children.start('authorizers', './authorizers-server.ts', { env: { BENCH_DELAYS: '2,3,5' } });
  const urls = (ready as { urls?: string[] }).urls ?? [];
  const worker = new URL('./fanout-instructions-worker.ts', import.meta.url).pathname;
  const child = spawn('valgrind', ['-q', '--tool=callgrind', '--smc-check=all-non-file', ...(THREADS ? ['--separate-threads=yes'] : []), `--callgrind-out-file=${join(dir, 'out')}`, process.execPath, '--import', 'tsx', worker], {
    env: { ...process.env, NODE_NO_WARNINGS: '1', BENCH_SRC: SRC, BENCH_URLS: urls.join(',') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (type: string) => new Promise<void>((done, fail) => {
    const onMessage = (message: { type?: string }) => { if (message.type === type) { child.off('exit', onExit); child.off('message', onMessage); done(); } };
    const onExit = (code: number | null) => fail(new Error(`the worker exited (code ${code}) while waiting for '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  const decisions = async (count: number) => { const done = next('done'); child.send({ type: 'run', count }); await done; };
  try {
    await next('ready');
    console.log(`${SRC}: ${WARM} decisions of warm-up under callgrind ...`);
    await decisions(WARM);
    const { total, mainThread } = await countInstructionsByThread(child.pid!, dir, () => decisions(N), process.env.BENCH_KEEP);
    const main = THREADS ? `, main thread ${(mainThread / N / 1e3).toFixed(0)} k` : '';
    console.log(`${SRC}${process.env.BENCH_UNSIGNED ? ' (request JWT not signed)' : ''}: ${(total / N / 1e3).toFixed(0)} k instructions per decide()${main} (${N} measured)`);
  } finally {
    child.send({ type: 'stop' });
    await new Promise((done) => child.once('exit', done));
  }
} finally {
  await children.stopAll();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
