// The access log's buffered lines (`request`, `token exchanged`, the authorizers' info decisions,
// `hook ran`) reach standard output when the process ends without closing Baton: an uncaught
// exception or `process.exit` (they run 'exit' handlers); and a reader of standard output that went
// away does not keep the process from ending. Each case runs in a child process: the access logger
// alone (nothing else flushes it there, so the exit is what writes the lines), then a whole Baton.
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { freePort, TEST_MASTER_SECRET } from '../helpers/baton.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const src = (path: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${path}`, import.meta.url)));
const NODE_ARGS = ['--import', 'tsx', '--input-type=module', '-e'];

interface Ended {
  readonly code: number | null;
  readonly lines: ReadonlyArray<Record<string, unknown>>;
  readonly stderr: string;
}

function run(script: string, nodeArgs: readonly string[] = []): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [...nodeArgs, ...NODE_ARGS, script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error?.killed) return reject(new Error(`the child did not end by itself: ${stderr}`));
      const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code: child.exitCode, lines, stderr });
    });
  });
}

/** The access logger alone writes three `request` lines (well under its 4 KiB buffer), then `ending` runs. */
const loggerAlone = (ending: string) => `
  import { createAccessLogger } from ${src('observability/logger.ts')};
  const log = createAccessLogger('info');
  for (let i = 0; i < 3; i++) log.info({ reqId: 'exit-test-' + i, method: 'GET', path: '/', status: 200 }, 'request');
  ${ending}
`;

const requestIds = (ended: Ended) => ended.lines.filter((line) => line.msg === 'request').map((line) => line.reqId);
const THREE = ['exit-test-0', 'exit-test-1', 'exit-test-2'];

describe('the access log when the process ends without close()', () => {
  it('writes its buffered lines on an uncaught exception', async () => {
    const ended = await run(loggerAlone(`setTimeout(() => { throw new Error('crashed on purpose'); }, 0);`));
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain('crashed on purpose');
    expect(requestIds(ended)).toEqual(THREE);
  }, 90_000);

  it('writes its buffered lines on process.exit', async () => {
    const ended = await run(loggerAlone('process.exit(3);'));
    expect(ended.code).toBe(3);
    expect(requestIds(ended)).toEqual(THREE);
  }, 90_000);

  it('writes the lines of every live logger when others were collected before the exit', async () => {
    const ended = await run(`
      import { createAccessLogger } from ${src('observability/logger.ts')};
      // Registered before, between and after the ones that are collected.
      const live = [createAccessLogger('info')];
      for (let i = 0; i < 3; i++) createAccessLogger('info').info({ reqId: 'collected-' + i }, 'request');
      live.push(createAccessLogger('info'), createAccessLogger('info'), createAccessLogger('info'));
      for (let i = 0; i < 6; i++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      live.forEach((log, i) => log.info({ reqId: 'live-' + i }, 'request'));
      process.exit(0);
    `, ['--expose-gc']);
    expect(ended.code).toBe(0);
    expect(requestIds(ended).filter((id) => String(id).startsWith('live-'))).toEqual(['live-0', 'live-1', 'live-2', 'live-3']);
  }, 90_000);

  it('still lets the process end when the reader of standard output has gone (EPIPE)', async () => {
    const child = spawn(process.execPath, [...NODE_ARGS, loggerAlone(`setTimeout(() => process.exit(3), 200);`)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const ended = await new Promise<number | null | 'hung'>((resolve) => {
      const timer = setTimeout(() => resolve('hung'), 20_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    if (ended === 'hung' && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    expect(ended, stderr).toBe(3);
  }, 90_000);

  it('a whole Baton: the request lines of its last requests are on standard output after a crash', async () => {
    const port = await freePort();
    const ended = await run(`
      import { validateConfig } from ${src('config/load.ts')};
      import { createBaton } from ${src('server.ts')};
      const config = validateConfig({
        issuer: 'http://127.0.0.1:${port}',
        storage: { type: 'memory' },
        keys: { masterSecret: ${JSON.stringify(TEST_MASTER_SECRET)} },
        logging: { level: 'info' },
      }, 'exit-flush test');
      const baton = await createBaton(config, { keyReloadInterval: 0 });
      await baton.listen(${port}, '127.0.0.1');
      for (let i = 0; i < 3; i++) {
        const response = await fetch('http://127.0.0.1:${port}/.well-known/openid-configuration', { headers: { 'x-request-id': 'exit-test-' + i } });
        await response.arrayBuffer();
      }
      setTimeout(() => { throw new Error('crashed on purpose'); }, 0);
    `);
    expect(ended.code).toBe(1);
    expect(requestIds(ended)).toEqual(THREE);
  }, 90_000);
});
