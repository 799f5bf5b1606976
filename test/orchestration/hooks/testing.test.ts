// The hook test kit (src/orchestration/hooks/testing.ts): every hook kind through the real loader
// checks and runner, each failure kind as Baton's HookError, reserved claims dropped, the context
// frozen, the api's cache, session, logs (secrets scrubbed) and fetches visible to the test.
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { defineHooks } from '../../../src/orchestration/hooks/types.ts';
import { HookError, HookLoadError, TEST_USER, runHookForTest, type HookLogLine } from '../../../src/orchestration/hooks/testing.ts';
import * as claimsModule from './fixtures/claims.ts';
import { FIXTURES } from './helpers.ts';

const at = { baseDir: FIXTURES };

async function failure(promise: Promise<unknown>): Promise<HookError> {
  const err = await promise.then(() => { throw new Error('hook succeeded'); }, (e: unknown) => e);
  expect(err).toBeInstanceOf(HookError);
  return err as HookError;
}

describe('each hook kind, loaded from a path as Baton loads it', () => {
  it('authorize.mjs (default export object, `this` bound): isAuthenticated, authenticate, isAuthorized', async () => {
    expect((await runHookForTest('authorize.mjs', 'isAuthenticated', { params: { prompt: 'login' } }, at)).output).toBe(false);
    expect((await runHookForTest('authorize.mjs', 'authenticate', { params: { login_hint: 'bob@partner.example' } }, at)).output).toEqual({ upstream: 'okta' });
    expect((await runHookForTest('authorize.mjs', 'authenticate', {}, at)).output).toBeUndefined();
    const allowed = await runHookForTest('authorize.mjs', 'isAuthorized', { user: { claims: { email: 'ann@contoso.com' } } }, at);
    expect(allowed.output).toEqual({ allow: true });
    // The default user (alice@example.com) is outside contoso.com: the normalised refusal.
    expect((await runHookForTest('authorize.mjs', 'isAuthorized', {}, at)).output).toEqual({ allow: false, reason: 'Only contoso.com accounts may use this application' });
  });

  it('claims.ts loadAttrs: what it cached (with its TTL) and set in the session', async () => {
    const run = await runHookForTest('claims.ts', 'loadAttrs', {}, at);
    expect(run.output).toEqual({ department: 'finance', roles: ['approver'], fromCache: false });
    expect(run.cached).toEqual({ [`attrs:${TEST_USER.sub}`]: { value: { department: 'finance', roles: ['approver'], fromCache: false }, ttlSeconds: 60 } });
    expect(run.session).toEqual({ loadedAt: 'first-sign-in' });
    expect(run.sessionChanged).toBe(true);
  });

  it('claims.ts loadAttrs with a warm cache: reads it, writes nothing', async () => {
    const run = await runHookForTest('claims.ts', 'loadAttrs', {}, { ...at, cache: { [`attrs:${TEST_USER.sub}`]: { department: 'sales' } } });
    expect(run.output).toEqual({ department: 'sales', fromCache: true });
    expect(run.cached).toEqual({});
    expect(run.sessionChanged).toBe(false);
  });

  it('claims.ts buildAccessTokenClaims: session values given, secret scrubbed from every log line', async () => {
    const run = await runHookForTest(claimsModule, 'buildAccessTokenClaims', { resource: 'https://orders', user: { attrs: { roles: ['approver'] } } }, {
      secrets: { apiKey: 'sk_live_kit_secret' },
      session: { loadedAt: 'earlier' },
    });
    expect(run.output).toEqual({ roles: ['approver'], resource: 'https://orders', loadedAt: 'earlier' });
    expect(run.logs).toHaveLength(1);
    expect(run.logs[0]).toMatchObject({ level: 'info', fields: { apiKey: '[redacted]', note: 'using [redacted]', hookModule: 'hooks-under-test' }, msg: 'called with [redacted]' });
    expect(JSON.stringify(run.logs)).not.toContain('sk_live_kit_secret');
  });

  it('reserved.ts: authenticateBackchannel, buildIDTokenClaims, buildUserInfoClaims, buildAccessTokenClaims lose reserved claims', async () => {
    const ok = await runHookForTest('reserved.ts', 'authenticateBackchannel', { username: 'ann', password: 'right' }, at);
    expect(ok.output).toEqual({ sub: 'ann', claims: { email: 'ann@contoso.com' } });
    expect(ok.droppedClaims).toEqual(['iss']);
    expect((await runHookForTest('reserved.ts', 'authenticateBackchannel', { username: 'ann', password: 'wrong' }, at)).output).toEqual({ deny: 'invalid credentials' });
    const id = await runHookForTest('reserved.ts', 'buildIDTokenClaims', {}, at);
    expect(id.output).toEqual({ department: 'finance' });
    expect([...id.droppedClaims].sort()).toEqual(['nonce', 'sub']);
    expect((await runHookForTest('reserved.ts', 'buildUserInfoClaims', {}, at)).output).toEqual({ name: 'Ann' });
    const access = await runHookForTest('reserved.ts', 'buildAccessTokenClaims', {}, at);
    expect(access.output).toEqual({ tenant: 'acme' });
    expect(access.logs).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ event: 'hook.reserved_claims', hook: 'buildAccessTokenClaims', hookModule: 'reserved.ts' }) })]);
  });
});

describe('failures are the HookError Baton raises', () => {
  it('a throw: kind threw, client-safe message; the original error is in the log lines the test collects', async () => {
    const logs: HookLogLine[] = [];
    const err = await failure(runHookForTest('throws.js', 'isAuthorized', {}, { ...at, logs }));
    expect(err).toMatchObject({ kind: 'threw', hook: 'isAuthorized', module: 'throws.js', message: 'The isAuthorized extension failed.' });
    expect(logs).toEqual([expect.objectContaining({ level: 'error', fields: expect.objectContaining({ event: 'hook.failed', kind: 'threw', err: expect.objectContaining({ message: expect.stringContaining('ECONNREFUSED') }) }) })]);
  });

  it('the deadline: a hook that never answers is a timeout after timeoutMs', async () => {
    const started = Date.now();
    const err = await failure(runHookForTest('slow.ts', 'isAuthorized', {}, { ...at, timeoutMs: 100 }));
    expect(err).toMatchObject({ kind: 'timeout', detail: 'no answer within 100 ms' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });

  it('the deadline aborts api.fetch: the fake service sees the signal fire', async () => {
    let aborted: Promise<unknown> | undefined;
    const err = await failure(runHookForTest('slow.ts', 'loadAttrs', { params: { url: 'https://hr.internal/slow' } }, {
      ...at,
      timeoutMs: 100,
      fetch: (request) => new Promise<Response>((_, reject) => {
        aborted = new Promise((done) => request.signal.addEventListener('abort', () => done(request.signal.aborted)));
        request.signal.addEventListener('abort', () => reject(request.signal.reason));
      }),
    }));
    expect(err.kind).toBe('timeout');
    expect(await aborted).toBe(true);
  });

  it.each([
    ['isAuthenticated', 'string-for-boolean'],
    ['authenticate', 'misspelt-key'],
    ['isAuthorized', 'allow-not-boolean'],
    ['buildAccessTokenClaims', 'date-claim'],
  ] as const)('bad-shape.ts %s (%s): kind bad-shape', async (hook, which) => {
    const err = await failure(runHookForTest('bad-shape.ts', hook, { params: { case: which } }, at));
    expect(err).toMatchObject({ kind: 'bad-shape', hook, message: `The ${hook} extension returned an invalid result.` });
  });

  it.each(['push-scope', 'set-claim', 'client-id'])('mutates.ts (%s): the context is deep-frozen, so the hook fails', async (which) => {
    const logs: HookLogLine[] = [];
    const err = await failure(runHookForTest('mutates.ts', 'isAuthorized', { params: { case: which } }, { ...at, logs }));
    expect(err.kind).toBe('threw');
    expect(logs[0]?.fields).toMatchObject({ err: { type: 'TypeError' } });
  });

  it('mutates.ts: api.upstream is frozen too', async () => {
    const upstream = { id: 'entra', claims: { sub: 'ann' }, tokens: {} };
    expect((await failure(runHookForTest('mutates.ts', 'buildAccessTokenClaims', {}, { ...at, upstream }))).kind).toBe('threw');
    expect(upstream.claims.sub).toBe('ann');
  });
});

describe('fetch is played by the test', () => {
  const bridge = defineHooks({
    async authenticateBackchannel(ctx, api) {
      const res = await api.fetch('https://ldap.internal/bind', { method: 'POST', headers: { 'x-api-key': api.secrets.get('key') ?? '' }, body: JSON.stringify({ u: ctx.username }) });
      api.logger.info({ status: res.status }, `bind with ${api.secrets.get('key')}`);
      return res.ok ? { sub: ctx.username } : { deny: 'no' };
    },
  });

  it('records each request (method, url, headers, body) and answers with the fake Response', async () => {
    const run = await runHookForTest(bridge, 'authenticateBackchannel', { username: 'ann', password: 'pw' }, {
      secrets: { key: 'ldap-key-secret' },
      fetch: (request) => new Response(null, { status: request.headers.get('x-api-key') === 'ldap-key-secret' ? 204 : 401 }),
    });
    expect(run.output).toEqual({ sub: 'ann', claims: {} });
    expect(run.fetched).toEqual([{ url: 'https://ldap.internal/bind', method: 'POST', headers: expect.objectContaining({ 'x-api-key': 'ldap-key-secret' }), body: '{"u":"ann"}' }]);
    expect(run.logs[0]?.msg).toBe('bind with [redacted]');
  });

  it('without a fetch option the network is refused: the hook fails, the log says why', async () => {
    const logs: HookLogLine[] = [];
    const err = await failure(runHookForTest(bridge, 'authenticateBackchannel', { username: 'ann', password: 'pw' }, { logs }));
    expect(err.kind).toBe('threw');
    expect(JSON.stringify(logs)).toContain('no `fetch` option plays that service');
  });
});

describe('modules and contexts', () => {
  it('a file: URL, and a misspelt or missing module, refused as Baton refuses them at startup', async () => {
    expect((await runHookForTest(pathToFileURL(`${FIXTURES}authorize.mjs`), 'authenticate', {})).output).toBeUndefined();
    await expect(runHookForTest('typo.ts', 'isAuthorized', {}, at)).rejects.toBeInstanceOf(HookLoadError);
    await expect(runHookForTest({ buildAccesTokenClaims: () => ({}) }, 'buildAccessTokenClaims', {})).rejects.toThrow(/did you mean "buildAccessTokenClaims"/);
    await expect(runHookForTest('claims.ts', 'isAuthorized', {}, at)).rejects.toThrow('claims.ts has no isAuthorized hook');
  });

  it('defaults per hook, like Baton\'s call sites; every field overridable; user merged or removed', async () => {
    const seen: unknown[] = [];
    const spy = defineHooks({
      authenticate: (ctx) => void seen.push(ctx),
      authenticateBackchannel: (ctx) => (seen.push(ctx), { deny: 'x' }),
      buildIDTokenClaims: (ctx) => (seen.push(ctx), {}),
      buildAccessTokenClaims: (ctx) => (seen.push(ctx), {}),
      buildUserInfoClaims: (ctx) => (seen.push(ctx), {}),
    });
    await runHookForTest(spy, 'authenticate', {});
    await runHookForTest(spy, 'authenticateBackchannel', { username: 'u', password: 'p' });
    await runHookForTest(spy, 'buildIDTokenClaims', { user: { attrs: { department: 'sales' } } });
    await runHookForTest(spy, 'buildAccessTokenClaims', { grantType: 'client_credentials', user: null, client: { id: 'orders-sync' }, scopes: ['orders:read'] });
    await runHookForTest(spy, 'buildUserInfoClaims', { requestId: 'r-42' });
    expect(seen[0]).toEqual({ hook: 'authenticate', client: { id: 'example-client', name: 'Example client' }, flow: 'authorization', scopes: ['openid', 'email'], params: {}, requestId: 'test-request' });
    expect(seen[1]).toMatchObject({ hook: 'authenticateBackchannel', flow: 'token', grantType: 'password', username: 'u', password: 'p' });
    expect(seen[1]).not.toHaveProperty('user');
    expect(seen[2]).toMatchObject({ flow: 'token', grantType: 'authorization_code', user: { ...TEST_USER, attrs: { department: 'sales' } } });
    expect(seen[3]).toEqual({ hook: 'buildAccessTokenClaims', client: { id: 'orders-sync' }, flow: 'token', grantType: 'client_credentials', scopes: ['orders:read'], params: {}, requestId: 'test-request' });
    expect(seen[4]).toMatchObject({ flow: 'userinfo', requestId: 'r-42', user: TEST_USER });
    expect(Object.isFrozen((seen[2] as { user: object }).user)).toBe(true);
  });
});
