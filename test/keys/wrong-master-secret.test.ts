// Regression: a different master secret on an existing database ended in an uncaught UnsealError
// stack trace. It is now a startup error: what happened and what to do, no stack, exit status 2.
import { afterAll, describe, expect, it } from 'vitest';

import { runCli, sqliteConfig } from '../helpers/baton-cli.ts';
import { freePort, scratchDir, TEST_ENV, TEST_MASTER_SECRET } from '../helpers/baton.ts';

const dir = scratchDir();
afterAll(() => dir.remove());

describe('a different master secret on an existing database', () => {
  it('is refused with a clear message and exit status 2, without a stack trace', async () => {
    const config = sqliteConfig(dir.path, await freePort());
    const first = runCli(['start', '--config', config], { ...TEST_ENV, BATON_MASTER_SECRET: TEST_MASTER_SECRET });
    await first.waitFor(/Baton is listening/);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = runCli(['start', '--config', config], { ...TEST_ENV, BATON_MASTER_SECRET: 'another-master-secret-0123456789abcdef' });
    expect(await second.exited).toBe(2);
    expect(second.stderr()).toMatch(/wrong master secret for this database/);
    expect(second.stderr()).toMatch(/Start Baton with the master secret this database was created with/);
    expect(second.stderr()).not.toMatch(/UnsealError|\n\s+at /);
    expect(second.stdout()).not.toMatch(/Baton is listening/);
  }, 60_000);
});
