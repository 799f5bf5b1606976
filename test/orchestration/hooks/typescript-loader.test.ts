// The compiled build's TypeScript loader on demand (issue 16, memory): registered once, right before the
// first TypeScript hook module, never for JavaScript ones. Here the registration is recorded (vitest
// transpiles TypeScript itself); test/package/package.test.ts proves it with tsx in the installed package.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadHooks } from '../../../src/orchestration/hooks/loader.ts';
import { setTypeScriptLoader } from '../../../src/orchestration/hooks/typescript-loader.ts';
import { FIXTURES } from './helpers.ts';

function recordRegistrations(): { count: number } {
  const calls = { count: 0 };
  setTypeScriptLoader(async () => {
    calls.count += 1;
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
  return calls;
}

describe('the TypeScript loader on demand', () => {
  it('is not registered for JavaScript hook modules', async () => {
    const calls = recordRegistrations();
    await loadHooks('authorize.mjs', FIXTURES);
    await loadHooks('throws.js', FIXTURES);
    expect(calls.count).toBe(0);
  });

  it('is registered once, before the first TypeScript module, however many load at once', async () => {
    const calls = recordRegistrations();
    const loaded = await Promise.all([loadHooks('claims.ts', FIXTURES), loadHooks('reserved.ts', FIXTURES)]);
    await loadHooks('slow.ts', FIXTURES);
    expect(loaded.map((l) => l.path)).toEqual([join(FIXTURES, 'claims.ts'), join(FIXTURES, 'reserved.ts')]);
    expect(calls.count).toBe(1);
  });

  it('is not registered for a module that is refused before import (file type, missing file)', async () => {
    const calls = recordRegistrations();
    await expect(loadHooks('missing.ts', FIXTURES)).rejects.toThrow('file not found');
    await expect(loadHooks('hooks.json', FIXTURES)).rejects.toThrow('unsupported file type');
    expect(calls.count).toBe(0);
  });

  it('fails the load, naming the module, when the loader cannot be registered', async () => {
    setTypeScriptLoader(() => Promise.reject(new Error("Cannot find package 'tsx'")));
    await expect(loadHooks('empty.ts', FIXTURES)).rejects.toThrow(`hook module ${join(FIXTURES, 'empty.ts')}: failed to load: Cannot find package 'tsx'`);
  });
});
