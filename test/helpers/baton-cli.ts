// `node bin/baton.js ...` as a real process: for what only the CLI does (exit statuses, messages on
// stderr, several processes on one data directory).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit status (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves once stdout or stderr matches, rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void exited.then(() => { done = true; });
    while (!pattern.test(out) && !pattern.test(err)) {
      if (done) throw new Error(`exited before ${pattern}; stdout: ${out}\nstderr: ${err}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stdout: ${out}\nstderr: ${err}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return { child, stdout: () => out, stderr: () => err, exited, waitFor };
}

/** A minimal `baton start` config on SQLite in `dir`, listening on `port`; returns its path. */
export function sqliteConfig(dir: string, port: number, name = 'baton'): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `issuer: http://127.0.0.1:${port}
server: { host: 127.0.0.1, port: ${port}, shutdownGracePeriod: 1s }
storage: { type: sqlite, path: ${join(dir, 'baton.db')} }
keys: { masterSecret: "\${BATON_MASTER_SECRET}" }
clients:
  - client_id: service
    client_secret: "\${SERVICE_SECRET}"
    grant_types: [client_credentials]
`);
  return file;
}
