// Running hooks: checked results, each failure kind (threw, timeout, bad-shape) as a HookError with a
// client-safe message plus a log line and an audit event, reserved claims kept, the context frozen.
import { describe, expect, it } from 'vitest';

import { loadHooks } from '../../../src/orchestration/hooks/loader.ts';
import { HookError, runHook } from '../../../src/orchestration/hooks/runner.ts';
import { context, FIXTURES, setup } from './helpers.ts';

const load = (module: string) => loadHooks(module, FIXTURES);

async function failure(promise: Promise<unknown>): Promise<HookError> {
  const err = await promise.then(() => { throw new Error('hook succeeded'); }, (e: unknown) => e);
  expect(err).toBeInstanceOf(HookError);
  return err as HookError;
}

describe('results', () => {
  it('authorize.mjs: isAuthenticated, authenticate and isAuthorized, normalised', async () => {
    const hooks = await load('authorize.mjs');
    const { api, run, events } = setup();
    expect(await runHook(hooks, 'isAuthenticated', context({ params: { prompt: 'login' } }), api, run)).toBe(false);
    expect(await runHook(hooks, 'authenticate', context({ params: { login_hint: 'bob@partner.example' } }), api, run)).toEqual({ upstream: 'okta' });
    expect(await runHook(hooks, 'authenticate', context({ params: { login_hint: 'blocked@contoso.com' } }), api, run)).toEqual({ deny: 'This account is blocked' });
    expect(await runHook(hooks, 'authenticate', context(), api, run)).toBeUndefined();
    expect(await runHook(hooks, 'isAuthorized', context(), api, run)).toEqual({ allow: true });
    const other = context({ user: { sub: 'x:eve', claims: { email: 'eve@else.org' }, attrs: {} } });
    expect(await runHook(hooks, 'isAuthorized', other, api, run)).toEqual({ allow: false, reason: 'Only contoso.com accounts may use this application' });
    expect(events.map((e) => `${e.type} ${e.hook} ${e.module}`)).toEqual([
      ...['isAuthenticated', 'authenticate', 'authenticate', 'authenticate', 'isAuthorized', 'isAuthorized'].map((h) => `hook.ran ${h} authorize.mjs`),
    ]);
    expect(events.every((e) => typeof e.latencyMs === 'number' && e.latencyMs >= 0)).toBe(true);
  });

  it('claims.ts: JSON claims, undefined members dropped; a copy, not the hook\'s object', async () => {
    const hooks = await load('claims.ts');
    const { api, run } = setup();
    const claims = await runHook(hooks, 'buildAccessTokenClaims', context({ flow: 'token', resource: 'https://orders', user: { sub: 's', claims: {}, attrs: { roles: ['approver'] } } }), api, run);
    expect(claims).toEqual({ roles: ['approver'], resource: 'https://orders', loadedAt: null });
    expect(Object.hasOwn(claims, 'optional')).toBe(false);
  });
});

describe('failures', () => {
  it.each([
    ['isAuthorized', 'Error'],
    ['loadAttrs', 'TypeError'],
    ['buildAccessTokenClaims', 'string'],
  ] as const)('throws.js %s: kind threw, safe message, original error only in the log', async (hook, type) => {
    const hooks = await load('throws.js');
    const { api, run, logger, events } = setup();
    const err = await failure(runHook(hooks, hook, context(), api, run));
    expect(err).toMatchObject({ kind: 'threw', hook, module: 'throws.js', message: `The ${hook} extension failed.` });
    expect(err.message).not.toMatch(/ECONNREFUSED|hunter2|department|bare string/);
    expect(JSON.stringify(err)).not.toMatch(/ECONNREFUSED|hunter2/);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({ level: 'error', obj: { event: 'hook.failed', hook, hookModule: 'throws.js', kind: 'threw', err: { type } } });
    expect(events).toEqual([{ type: 'hook.failed', hook, module: 'throws.js', latencyMs: expect.any(Number), kind: 'threw' }]);
  });

  it.each([
    ['isAuthenticated', 'string-for-boolean', 'must be true or false, got string'],
    ['buildAccessTokenClaims', 'function-claim', 'result.fn: function is not a JSON value'],
    ['buildAccessTokenClaims', 'date-claim', 'result.when: a Date is not a plain object'],
    ['buildAccessTokenClaims', 'bigint-claim', 'result.n: bigint is not a JSON value'],
    ['buildAccessTokenClaims', 'nan-claim', 'result.n: NaN is not a JSON number'],
    ['buildAccessTokenClaims', 'array-result', 'must be an object, got an array'],
    ['buildAccessTokenClaims', 'cycle', 'result.self: circular reference'],
    ['authenticate', 'both-upstream-and-deny', 'got an object with keys [deny, upstream]'],
    ['authenticate', 'misspelt-key', 'got an object with keys [upsteam]'],
    ['isAuthorized', 'allow-true-with-reason', 'must be false when a reason is given'],
    ['isAuthorized', 'empty-reason', 'result.reason: must be a non-empty string'],
    ['isAuthorized', 'allow-not-boolean', 'result.allow: must be true or false, got string'],
  ] as const)('bad-shape.ts %s (%s): kind bad-shape', async (hook, kase, detail) => {
    const hooks = await load('bad-shape.ts');
    const { api, run, logger, events } = setup();
    const err = await failure(runHook(hooks, hook, context({ params: { case: kase } }), api, run));
    expect(err).toMatchObject({ kind: 'bad-shape', hook, module: 'bad-shape.ts', message: `The ${hook} extension returned an invalid result.` });
    expect(err.detail).toContain(detail);
    expect(err.message).not.toContain(detail);
    expect(logger.text()).not.toContain('do-not-leak');
    expect(logger.lines[0]).toMatchObject({ level: 'error', obj: { kind: 'bad-shape', detail: expect.stringContaining(detail) } });
    expect(events).toEqual([expect.objectContaining({ type: 'hook.failed', kind: 'bad-shape' })]);
  });

  it('slow.ts: a hook that never answers times out at its deadline', async () => {
    const hooks = await load('slow.ts');
    const { api, run, events } = setup();
    const started = Date.now();
    const err = await failure(runHook(hooks, 'isAuthorized', context(), api, { ...run, timeoutMs: 150 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toMatchObject({ kind: 'timeout', hook: 'isAuthorized', message: 'The isAuthorized extension did not answer in time.', detail: 'no answer within 150 ms' });
    expect(events).toEqual([expect.objectContaining({ type: 'hook.failed', kind: 'timeout' })]);
    expect(await runHook(hooks, 'buildAccessTokenClaims', context(), api, { ...run, timeoutMs: 1000 })).toEqual({ quick: true });
  });
});

describe('reserved claims', () => {
  it('are removed from every claims hook and logged, other claims kept', async () => {
    const hooks = await load('reserved.ts');
    const { api, run, logger, events } = setup();
    expect(await runHook(hooks, 'buildAccessTokenClaims', context({ flow: 'token' }), api, run)).toEqual({ tenant: 'acme' });
    expect(logger.lines[0]).toMatchObject({ level: 'warn', obj: { event: 'hook.reserved_claims', hook: 'buildAccessTokenClaims', claims: ['iss', 'sub', 'aud', 'exp', 'client_id', 'scope', 'cnf', 'act'] } });
    expect(events[0]).toMatchObject({ type: 'hook.ran', droppedClaims: ['iss', 'sub', 'aud', 'exp', 'client_id', 'scope', 'cnf', 'act'] });
    expect(await runHook(hooks, 'buildIDTokenClaims', context({ flow: 'token' }), api, run)).toEqual({ department: 'finance' });
    expect(await runHook(hooks, 'buildUserInfoClaims', context({ flow: 'userinfo' }), api, run)).toEqual({ name: 'Ann' });
  });

  it('authenticateBackchannel: subject and claims (reserved ones dropped), or a refusal', async () => {
    const hooks = await load('reserved.ts');
    const { api, run } = setup();
    const base = context({ flow: 'token', grantType: 'password', user: undefined });
    expect(await runHook(hooks, 'authenticateBackchannel', { ...base, username: 'ann', password: 'right' }, api, run)).toEqual({ sub: 'ann', claims: { email: 'ann@contoso.com' } });
    expect(await runHook(hooks, 'authenticateBackchannel', { ...base, username: 'ann', password: 'wrong' }, api, run)).toEqual({ deny: 'invalid credentials' });
  });
});

describe('the context is read-only', () => {
  it.each(['push-scope', 'set-claim', 'client-id'])('mutates.ts %s: the attempt throws inside the hook (threw); the caller\'s object is untouched', async (kase) => {
    const hooks = await load('mutates.ts');
    const { api, run } = setup();
    const ctx = context({ params: { case: kase } });
    const { logger } = setup();
    const err = await failure(runHook(hooks, 'isAuthorized', ctx, api, { ...run, logger }));
    expect(err.kind).toBe('threw');
    expect(logger.lines[0]?.obj).toMatchObject({ err: { type: 'TypeError', message: expect.stringMatching(/read.only|not extensible|Cannot assign/) } });
    expect(Object.isFrozen(ctx)).toBe(false);
    expect(ctx.scopes).toEqual(['openid', 'email']);
    expect(ctx.user?.claims.email).toBe('ann@contoso.com');
  });

  it('the api\'s upstream view is frozen too', async () => {
    const hooks = await load('mutates.ts');
    const { run } = setup();
    const { api } = setup({ upstream: { id: 'contoso', claims: { sub: 'ann' }, tokens: { idToken: 'eyJ.id.token' } } });
    expect((await failure(runHook(hooks, 'buildAccessTokenClaims', context(), api, run))).kind).toBe('threw');
    expect(api.upstream?.claims.sub).toBe('ann');
  });

  it('the context the hook sees names the hook', async () => {
    const { api, run } = setup();
    let seen: unknown;
    const loaded = { module: 'inline', path: '/inline', hooks: { isAuthenticated: (c: unknown) => ((seen = c), true) } };
    await runHook(loaded, 'isAuthenticated', context(), api, run);
    expect(seen).toMatchObject({ hook: 'isAuthenticated', requestId: 'req-1' });
    expect(Object.isFrozen((seen as { user: { attrs: object } }).user.attrs)).toBe(true);
  });
});
