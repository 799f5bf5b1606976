// Runs `node bin/baton.js dev` as a newcomer would, as a child process on four free ports and a
// temp data directory, and waits for the printed banner.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { freePort, scratchDir } from '../helpers/baton.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const READY = 'Press Ctrl-C to stop.';

export interface DemoProcess {
  readonly child: ChildProcess;
  readonly ports: { baton: number; idp: number; api: number; app: number };
  readonly dataDir: string;
  /** Everything printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM by PID; resolves with the exit code (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

export interface Exited {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion (for the failure paths). */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/baton.js', ...args], { cwd: REPO, env: { ...process.env, NODE_NO_WARNINGS: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`baton ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export async function startDemoProcess(timeoutMs = 45_000): Promise<DemoProcess> {
  const [baton, idp, api, app] = await distinctFreePorts(4) as [number, number, number, number];
  const data = scratchDir('baton-demo-');
  const child = spawn(process.execPath, [
    'bin/baton.js', 'dev', '--baton-port', String(baton), '--idp-port', String(idp), '--api-port', String(api), '--app-port', String(app), '--data-dir', data.path,
  ], { cwd: REPO, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async (graceMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      data.remove();
      return code;
    }
    data.remove();
    return child.exitCode;
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baton dev printed no banner within ${timeoutMs} ms:\n${stdout}\n${stderr}`)), timeoutMs);
    const check = () => {
      if (stdout.includes(READY)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`baton dev exited (${code}) before it was ready:\n${stdout}\n${stderr}`));
    }, reject);
  }).catch(async (err) => {
    await stop(2000);
    throw err;
  });

  return { child, ports: { baton, idp, api, app }, dataDir: data.path, stdout: () => stdout, stderr: () => stderr, stop };
}
