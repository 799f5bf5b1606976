// Loading hook modules: TypeScript and JavaScript, named and default exports, and every way a module
// is refused (typos, non-functions, duplicates, no hook, load failure), with the path in the message.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

import { HookLoadError, hasHook, loadHooks } from '../../../src/orchestration/hooks/loader.ts';
import { FIXTURES } from './helpers.ts';

const refusal = (module: string) => loadHooks(module, FIXTURES).then(() => { throw new Error('loaded'); }, (err: unknown) => err as HookLoadError);

describe('loadHooks', () => {
  it('loads a TypeScript module with named exports, leaving helpers alone', async () => {
    const loaded = await loadHooks('claims.ts', FIXTURES);
    expect(Object.keys(loaded.hooks).sort()).toEqual(['buildAccessTokenClaims', 'buildIDTokenClaims', 'loadAttrs']);
    expect(loaded).toMatchObject({ module: 'claims.ts', path: join(FIXTURES, 'claims.ts') });
    expect(hasHook(loaded, 'loadAttrs')).toBe(true);
    expect(hasHook(loaded, 'isAuthorized')).toBe(false);
    expect(hasHook(undefined, 'isAuthorized')).toBe(false);
    expect(Object.isFrozen(loaded.hooks)).toBe(true);
  });

  it('loads a JavaScript module with a default export object (relative to baseDir)', async () => {
    const loaded = await loadHooks('./fixtures/authorize.mjs', join(FIXTURES, '..'));
    expect(Object.keys(loaded.hooks).sort()).toEqual(['authenticate', 'isAuthenticated', 'isAuthorized']);
  });

  it('refuses a misspelt hook name, naming it, suggesting the right one and listing the valid names', async () => {
    const err = await refusal('typo.ts');
    expect(err).toBeInstanceOf(HookLoadError);
    expect(err.path).toBe(join(FIXTURES, 'typo.ts'));
    expect(err.message).toContain(join(FIXTURES, 'typo.ts'));
    expect(err.message).toContain('export "buildAccesTokenClaims" is not a hook (did you mean "buildAccessTokenClaims"?)');
    expect(err.message).toContain('export "isAuthorizedSE" is not a hook (did you mean "isAuthorized"?)');
    expect(err.message).toContain('valid names: isAuthenticated, authenticate, authenticateBackchannel, isAuthorized, loadAttrs, buildIDTokenClaims, buildAccessTokenClaims, buildUserInfoClaims');
    expect(err.problems).toHaveLength(2);
  });

  it.each([
    ['not-function.mjs', ['export "isAuthorized" must be a function, got boolean', 'export "buildIDTokenClaims" must be a function, got object']],
    ['default-function.mjs', ['the default export must be an object of hooks, got function']],
    ['duplicate.mjs', ['"loadAttrs" is defined twice (named export and default export)', 'default export key "loadAtrs" is not a hook (did you mean "loadAttrs"?)']],
    ['empty.ts', ['exports no hook; export one or more of: isAuthenticated']],
    ['broken.ts', ['failed to load: cannot start: HR_API_URL is not set']],
    ['missing.ts', ['file not found']],
    ['hooks.json', ['unsupported file type ".json": use .js, .mjs, .ts, .mts']],
  ])('refuses %s', async (module, expected) => {
    const err = await refusal(module);
    expect(err).toBeInstanceOf(HookLoadError);
    expect(err.message).toContain(`hook module ${join(FIXTURES, module)}`);
    for (const [i, text] of expected.entries()) expect(err.problems[i]).toContain(text);
  });

  it('works under tsx, the way Baton runs hook modules', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(FIXTURES, 'tsx-load.mjs')], { cwd: join(FIXTURES, '../../../..') });
    const result = JSON.parse(stdout) as { ts: string[]; js: string[]; typo: string };
    expect(result.ts).toEqual(['buildAccessTokenClaims', 'buildIDTokenClaims', 'loadAttrs']);
    expect(result.js).toEqual(['authenticate', 'isAuthenticated', 'isAuthorized']);
    expect(result.typo).toContain('"buildAccesTokenClaims" is not a hook');
  });
});
