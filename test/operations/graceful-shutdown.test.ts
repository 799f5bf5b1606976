// `baton start` as a real process: SIGTERM stops accepting new connections, lets a request that is
// in flight finish, closes the database and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { freePort, scratchDir, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';

const BIN = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));
const dir = scratchDir();
let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  dir.remove();
});

function waitForLog(proc: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output: ${seen}`)), timeoutMs);
    proc.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

describe('graceful shutdown', () => {
  it('finishes an in-flight token request after SIGTERM, refuses new connections, exits 0', async () => {
    const port = await freePort();
    const config = join(dir.path, 'baton.yaml');
    writeFileSync(config, `issuer: http://127.0.0.1:${port}
server: { host: 127.0.0.1, port: ${port}, shutdownGracePeriod: 10s }
storage: { type: sqlite, path: ${join(dir.path, 'baton.db')} }
keys: { masterSecret: "\${BATON_MASTER_SECRET}" }
clients:
  - client_id: service
    client_secret: "\${SERVICE_SECRET}"
    grant_types: [client_credentials]
`);
    child = spawn(process.execPath, [BIN, 'start', '--config', config], {
      env: { ...process.env, BATON_MASTER_SECRET: TEST_MASTER_SECRET, SERVICE_SECRET: TEST_ENV.SERVICE_SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForLog(child, /Baton is listening/);
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    // A token request whose body arrives slowly: headers and half the body now, the rest after SIGTERM.
    const body = 'grant_type=client_credentials';
    const auth = `Basic ${Buffer.from(`service:${TEST_ENV.SERVICE_SECRET}`).toString('base64')}`;
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/token', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length, authorization: auth } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child!.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 500);
      }, 300);
    });

    const logs = waitForLog(child, /"msg":"stopped"/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'accepted', () => 'refused');
    expect(refused).toBe('refused');

    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ token_type: 'Bearer' });
    expect(await exited).toBe(0);
    expect(await logs).toContain('shutting down: finishing in-flight requests');
  });
});
