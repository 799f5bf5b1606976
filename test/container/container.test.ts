// The container image (Dockerfile): built with podman and run with a read-only root filesystem as a
// non-root user; the health check, discovery and a client_credentials token from outside. The work
// is in scripts/container-test.sh; .ci/run runs this test as its own step after `npm test`, with
// BATON_CONTAINER_TEST=1. It skips, naming why, only where this machine cannot run a step (the script
// exits 3: not root, a tool missing, disk, no network to the Debian mirror or the npm registry; or
// BATON_CONTAINER_SKIP, set by .ci/run when installing the tools failed). A failed build or run fails.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/container-test.sh', import.meta.url));
const enabled = process.env.BATON_CONTAINER_TEST === '1';
const NOT_ENABLED = 'skipped: set BATON_CONTAINER_TEST=1 to run it (.ci/run does, after npm test). It builds the '
  + 'image with podman from a debootstrap base (6-9 minutes and about 1.2 GB the first time) and needs root, '
  + 'podman, buildah, runc and debootstrap; see scripts/container-test.sh';
/** The script's exit status for "a prerequisite of this machine is missing" (its `SKIP:` line says which). */
const PREREQUISITE_MISSING = 3;

function run(file: string, timeoutMs: number, args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    // The script bounds each step itself; this only guards against a hang of the script as a whole.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

describe('container test prerequisites', () => {
  // Cheap, so always run: a machine that cannot run a step is a skip naming why, never a pass or a failure.
  it('a missing prerequisite exits 3 with one SKIP line naming it (here: more disk than any machine has)', async () => {
    const { code, output } = await run(script, 120_000, ['--preflight'], { BATON_CONTAINER_NEED_GB: '999999' });
    expect(code, output).toBe(PREREQUISITE_MISSING);
    const skips = output.split('\n').filter((line) => line.startsWith('SKIP: '));
    expect(skips, output).toHaveLength(1);
    expect(skips[0]).toMatch(/^SKIP: (not root \(uid \d+\)|not installed: [a-z ]+ \(apt-get install|not enough disk: \d+ GB free for \/\S+, the first run needs 999999 GB)/);
  });
});

describe('container image', () => {
  it('runs read-only as non-root: healthy, discovery and a client_credentials token', async (ctx) => {
    const skip = (reason: string) => {
      console.warn(`test/container: ${reason}`);
      ctx.skip(reason);
    };
    if (!enabled) return skip(NOT_ENABLED);
    const preset = process.env.BATON_CONTAINER_SKIP;
    if (preset) return skip(`skipped: ${preset}`);
    const started = Date.now();
    const { code, output } = await run(script, 30 * 60_000);
    if (code === PREREQUISITE_MISSING) {
      const reason = /^SKIP: (.+)$/m.exec(output)?.[1];
      expect(reason, output).toBeDefined();
      return skip(`skipped: ${reason}`);
    }
    expect(code, output).toBe(0);
    expect(output).toContain('OK: non-root');
    console.info(`test/container: proven in ${Math.round((Date.now() - started) / 1000)} s`);
  }, 31 * 60_000);
});
