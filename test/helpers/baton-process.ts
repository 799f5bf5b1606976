// A real `baton start` in a separate OS process (bin/baton.js) on 127.0.0.1, from a config object
// written as YAML into a scratch directory: what several instances behind one load balancer are.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { stringify } from 'yaml';

import { TEST_ENV } from './baton.ts';

export interface BatonProcess {
  /** Where this instance listens (the issuer may be another instance's URL, as behind a load balancer). */
  readonly url: string;
  readonly process: ChildProcess;
  /** SIGTERM by PID, then SIGKILL if it has not exited after 5 s. */
  stop(): Promise<void>;
}

/** Starts `baton start --config` with `raw` (listening on `port`) and resolves once /readyz answers 200. */
export async function spawnBaton(raw: Record<string, unknown>, port: number, dir: string, name = `baton-${port}`): Promise<BatonProcess> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ logging: { level: process.env.BATON_TEST_LOG ?? 'warn' }, ...raw, server: { host: '127.0.0.1', port, shutdownGracePeriod: 1 } }));
  const child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/baton.js', import.meta.url)), 'start', '--config', file], {
    env: { ...process.env, ...TEST_ENV },
    // Its log lines (stdout) go to `<dir>/<name>.log` when BATON_TEST_LOG is set, else nowhere.
    stdio: ['ignore', process.env.BATON_TEST_LOG ? openSync(join(dir, `${name}.log`), 'a') : 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (!running() || child.pid === undefined) return;
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => { if (running() && child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); }, 5000);
    await exited;
    clearTimeout(timer);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while ((await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (!running() || Date.now() > deadline) {
      await stop();
      throw new Error(`baton process ${name} did not become ready`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, process: child, stop };
}
