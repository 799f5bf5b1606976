// Regression: two Baton processes on one SQLite file (two demos on different ports) shared it
// silently. The second now refuses to start, naming the holder's PID; a lock left by a crashed
// process (SIGKILL) does not block the next start.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runCli, sqliteConfig, type CliProcess } from '../helpers/baton-cli.ts';
import { freePort, scratchDir, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';

const dir = scratchDir();
const env = { ...TEST_ENV, BATON_MASTER_SECRET: TEST_MASTER_SECRET };
const started: CliProcess[] = [];

afterAll(() => {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  dir.remove();
});

function start(config: string): CliProcess {
  const p = runCli(['start', '--config', config], env);
  started.push(p);
  return p;
}

describe('one Baton process per SQLite database', () => {
  it('refuses a second process on the same file with the first one\'s PID, and exit status 2', async () => {
    const first = start(sqliteConfig(dir.path, await freePort(), 'first'));
    await first.waitFor(/Baton is listening/);

    const secondPort = await freePort();
    const second = start(sqliteConfig(dir.path, secondPort, 'second'));
    expect(await second.exited).toBe(2);
    expect(second.stderr()).toContain(`is in use by another Baton process (PID ${first.child.pid})`);
    expect(second.stderr()).not.toMatch(/\n\s+at /);
    // The first one still serves.
    expect(first.child.exitCode).toBeNull();

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dir.path, 'baton.db.lock'))).toBe(false);
  }, 60_000);

  it('takes over the lock of a crashed process', async () => {
    const crashed = start(sqliteConfig(dir.path, await freePort(), 'crashed'));
    await crashed.waitFor(/Baton is listening/);
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    expect(existsSync(join(dir.path, 'baton.db.lock'))).toBe(true);

    const next = start(sqliteConfig(dir.path, await freePort(), 'next'));
    await next.waitFor(/Baton is listening/);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  }, 60_000);
});
