// The access log's buffered lines (`request`, `token exchanged`, the authorizers' info decisions)
// reach standard output when the process ends without closing Baton: an uncaught exception or
// `process.exit` (they run 'exit' handlers). Baton runs in a child process with its default loggers.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { freePort, TEST_MASTER_SECRET } from '../helpers/baton.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const src = (path: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${path}`, import.meta.url)));

interface Ended {
  readonly code: number | null;
  readonly lines: ReadonlyArray<Record<string, unknown>>;
  readonly stderr: string;
}

/** Baton in a child answers three discovery requests (X-Request-Id exit-test-N), then runs `ending`. */
async function runChild(ending: string): Promise<Ended> {
  const port = await freePort();
  const script = `
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
    ${ending}
  `;
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && error.killed) return reject(new Error(`the child did not end by itself: ${stderr}`));
      const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code: child.exitCode, lines, stderr });
    });
  });
}

const requestIds = (ended: Ended) => ended.lines.filter((line) => line.msg === 'request').map((line) => line.reqId);

describe('the access log when the process ends without close()', () => {
  it('writes its buffered lines on an uncaught exception', async () => {
    const ended = await runChild(`setTimeout(() => { throw new Error('crashed on purpose'); }, 0);`);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain('crashed on purpose');
    expect(requestIds(ended)).toEqual(['exit-test-0', 'exit-test-1', 'exit-test-2']);
  }, 90_000);

  it('writes its buffered lines on process.exit', async () => {
    const ended = await runChild('process.exit(3);');
    expect(ended.code).toBe(3);
    expect(requestIds(ended)).toEqual(['exit-test-0', 'exit-test-1', 'exit-test-2']);
  }, 90_000);
});
