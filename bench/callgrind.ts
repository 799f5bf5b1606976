// What the callgrind benchmarks share (exchange-, grant- and fanout-instructions.ts): counting the
// instructions a server under `valgrind --tool=callgrind` spends on a piece of work, and sending it
// token requests over keep-alive connections.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';

import { FORM_HEADERS } from './endpoints-fixture.ts';

/**
 * Zeroes the counters of the process `pid` (run with `--callgrind-out-file=<dir>/out`), runs `work`,
 * dumps the counters: the instructions spent meanwhile. `keep` copies the dump there (for callgrind_annotate).
 * Under `--separate-threads=yes` callgrind writes one dump per thread (`out.1-01` is the main
 * thread): the total is their sum, and `mainThread` the main thread's alone.
 */
export async function countInstructions(pid: number, dir: string, work: () => Promise<void>, keep?: string): Promise<number> {
  return (await countInstructionsByThread(pid, dir, work, keep)).total;
}

export async function countInstructionsByThread(pid: number, dir: string, work: () => Promise<void>, keep?: string): Promise<{ total: number; mainThread: number }> {
  execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
  await work();
  execFileSync('callgrind_control', ['-d', 'measured', String(pid)], { stdio: 'ignore' });
  const dumps = readdirSync(dir).filter((name) => name !== 'out' && name.startsWith('out')).sort();
  const counts = dumps.map((name) => Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, name), 'utf8'))?.[1]));
  if (counts.length === 0 || !counts.every(Number.isFinite)) throw new Error('no callgrind dump with totals');
  if (keep) copyFileSync(join(dir, dumps[0]!), keep);
  return { total: counts.reduce((a, b) => a + b, 0), mainThread: counts[0]! };
}

/**
 * The instructions of a callgrind dump spent by V8's optimizing compiler on its background threads
 * (TurboFan compiling hot functions, inclusive cost of `CompileTask::RunInternal`). A function is
 * compiled once, when it becomes hot, so this part of a count depends on where the warm-up ended, not
 * on the work per request: the total minus it is the steady state. From `callgrind_annotate`.
 */
export function backgroundCompileInstructions(dumpFile: string): number {
  const report = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', dumpFile], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const line = report.split('\n').find((l) => l.includes('OptimizingCompileDispatcher::CompileTask::RunInternal'));
  return line ? Number(/^\s*([\d,]+)/.exec(line)?.[1]?.replaceAll(',', '') ?? 0) : 0;
}

/** POSTs form bodies to 127.0.0.1:`port`/token, `connections` at a time over keep-alive connections (`headers` added to each). */
export function tokenPoster(port: number, connections: number, headers: Readonly<Record<string, string>> = {}): { send: (bodies: readonly string[]) => Promise<number>; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const once = (body: string) => new Promise<number>((done, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/token', method: 'POST', agent, headers: { ...FORM_HEADERS, ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
  // A server this slow may close an idle keep-alive connection just as it is reused: send again.
  const post = (body: string) => once(body).catch((err: { code?: string }) => (err.code === 'ECONNRESET' ? once(body) : Promise.reject(err)));
  return {
    /** Sends every body; resolves how many were not answered 200. */
    async send(bodies) {
      let next = 0;
      let refused = 0;
      await Promise.all(Array.from({ length: connections }, async () => {
        while (next < bodies.length) if ((await post(bodies[next++]!)) !== 200) refused += 1;
      }));
      return refused;
    },
    close: () => agent.destroy(),
  };
}
