// Where the CPU of one code redemption or refresh goes, by source area (issue 16 target 3): the
// server child of grant-instructions.ts (endpoints-baton.ts or endpoints-bare.ts), seeded and warmed
// the same way, then N requests under V8's sampling profiler (profile-preload.ts: the profile covers
// those requests only); bench/profile-areas.ts sums it by source area, self and inclusive.
//   node --import tsx bench/grant-profile.ts [baton|bare] [code|refresh] OUT_DIR
//   env: BENCH_WARM (1000), BENCH_N (3000), BENCH_CONNECTIONS (4), BENCH_BATON=dist,
//        BENCH_PROFILE_INTERVAL (µs between samples, 100), BENCH_BATON_LOG_LEVEL (info)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { tokenPoster } from './callgrind.ts';
import { childReady, preparePool, stopChild } from './grant-child.ts';
import { envNumber, freePort } from './support.ts';

const which = process.argv[2] ?? 'baton';
const workload = process.argv[3] ?? 'refresh';
const out = resolve(process.argv[4] ?? 'profiles');
if (!['baton', 'bare'].includes(which) || !['code', 'refresh'].includes(workload)) throw new Error('usage: bench/grant-profile.ts [baton|bare] [code|refresh] OUT_DIR');
const WARM = envNumber('BENCH_WARM', 1000);
const N = envNumber('BENCH_N', 3000);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 4);
const INTERVAL = envNumber('BENCH_PROFILE_INTERVAL', 100);

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-profile-'));
const partner = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}'));
await new Promise<void>((ready) => partner.listen(0, '127.0.0.1', ready));
const port = await freePort();
const file = new URL(which === 'bare' ? './endpoints-bare.ts' : './endpoints-baton.ts', import.meta.url).pathname;
const child = spawn(process.execPath, ['--import', 'tsx', '--import', new URL('./profile-preload.ts', import.meta.url).pathname, file], {
  env: {
    ...process.env, NODE_NO_WARNINGS: '1', BENCH_PORT: String(port), BENCH_BATON_LOG_LEVEL: process.env.BENCH_BATON_LOG_LEVEL ?? 'info',
    BENCH_PARTNER_JWKS: `http://127.0.0.1:${(partner.address() as { port: number }).port}/jwks`,
  },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
await childReady(child, which);

const prepare = (count: number) => preparePool(child, dir, workload as 'code' | 'refresh', count);

/** Sends `message` to the child and waits for its answer of type `answer`. */
function ask(message: object, answer: string): Promise<void> {
  return new Promise((done) => {
    const onMessage = (reply: { type: string }) => {
      if (reply.type !== answer) return;
      child.off('message', onMessage);
      done();
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

mkdirSync(out, { recursive: true });
const profileFile = join(out, `${which}-${workload}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
const poster = tokenPoster(port, CONNECTIONS);
try {
  const warm = await prepare(WARM);
  const measured = await prepare(N);
  if (await poster.send(warm) > 0) throw new Error('warm-up: not every request was answered 200');
  await ask({ type: 'profile-start', interval: INTERVAL }, 'profile-started');
  const started = performance.now();
  if (await poster.send(measured) > 0) throw new Error('not every request was answered 200');
  const seconds = (performance.now() - started) / 1000;
  await ask({ type: 'profile-stop', file: profileFile }, 'profile-written');
  console.log(`${which}, ${workload}: ${N} requests in ${seconds.toFixed(1)} s; profile: ${profileFile}`);
} finally {
  await stopChild(child);
  poster.close();
  partner.close();
  rmSync(dir, { recursive: true, force: true });
}
