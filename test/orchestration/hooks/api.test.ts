// The hook api: a cache in the Store (MemoryStore here) namespaced per module, session values
// carried between hooks, secrets readable but scrubbed from logs, and fetch bounded by the deadline.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';

import { createLogger } from '../../../src/observability/logger.ts';
import { HOOK_CACHE_KIND, HookSession, createHookApi } from '../../../src/orchestration/hooks/api.ts';
import { loadHooks } from '../../../src/orchestration/hooks/loader.ts';
import { HookError, runHook } from '../../../src/orchestration/hooks/runner.ts';
import { MemoryStore } from '../../../src/storage/memory/memory-store.ts';
import { context, FIXTURES, recorder, setup } from './helpers.ts';

describe('cache', () => {
  it('loadAttrs caches through the Store; a second sign-in reads the cache', async () => {
    const hooks = await loadHooks('claims.ts', FIXTURES);
    const { api, run, store, session } = setup();
    expect(await runHook(hooks, 'loadAttrs', context(), api, run)).toEqual({ department: 'finance', roles: ['approver'], fromCache: false });
    expect(await runHook(hooks, 'loadAttrs', context(), api, run)).toEqual({ department: 'finance', roles: ['approver'], fromCache: true });
    expect(session.toJSON()).toEqual({ loadedAt: 'first-sign-in' });
    expect(await store.getRecord(HOOK_CACHE_KIND, 'attrs:contoso:ann')).toBeUndefined(); // namespaced
  });

  it('is namespaced per module, expires with its TTL and holds JSON values only', async () => {
    let now = 1_000_000;
    const store = new MemoryStore({ clock: () => now });
    const base = { store, logger: recorder(), session: new HookSession(), timeoutMs: 500 };
    const a = createHookApi({ ...base, moduleId: 'hooks/a.ts' });
    const b = createHookApi({ ...base, moduleId: 'hooks/b.ts' });
    await a.cache.set('k', { n: 1, nothing: null }, 30);
    expect(await a.cache.get('k')).toEqual({ n: 1, nothing: null });
    expect(await b.cache.get('k')).toBeUndefined();
    await a.cache.set('null', null, 30);
    expect(await a.cache.get('null')).toBeNull();
    expect(await store.getRecord(HOOK_CACHE_KIND, 'k')).toBeUndefined();
    now += 31_000;
    expect(await a.cache.get('k')).toBeUndefined();
    await expect(a.cache.set('k', { f: () => 1 }, 30)).rejects.toThrow(TypeError);
    await expect(a.cache.set('k', 1, 0)).rejects.toThrow('ttlSeconds must be a positive number');
    await expect(a.cache.get('')).rejects.toThrow('the key must be a non-empty string');
  });
});

describe('session', () => {
  it('carries JSON values between hooks, as copies; undefined removes', () => {
    const session = new HookSession({ seeded: 1 });
    const api = createHookApi({ store: new MemoryStore(), logger: recorder(), session, moduleId: 'm', timeoutMs: 500 });
    expect(session.changed).toBe(false);
    const value = { groups: ['a'] };
    api.session.set('g', value);
    value.groups.push('b');
    (api.session.get('g') as { groups: string[] }).groups.push('c');
    expect(api.session.get('g')).toEqual({ groups: ['a'] });
    expect(session.changed).toBe(true);
    api.session.set('seeded', undefined);
    expect(session.toJSON()).toEqual({ g: { groups: ['a'] } });
    expect(() => api.session.set('when', new Date())).toThrow(TypeError);
    expect(() => api.session.set('__proto__', 1)).toThrow(TypeError);
  });
});

describe('secrets', () => {
  it('are readable by the hook and never reach the log, even when the hook logs them', async () => {
    const out: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, done) => void (out.push(String(chunk)), done()) });
    const logger = createLogger('info', stream);
    const hooks = await loadHooks('claims.ts', FIXTURES);
    const { api, run } = setup({ logger });
    let read: string | undefined;
    const probe = { module: 'probe', path: '/probe', hooks: { isAuthenticated: (_c: unknown, a: typeof api) => ((read = a.secrets.get('apiKey')), true) } };
    await runHook(probe, 'isAuthenticated', context(), api, run);
    expect(read).toBe('sk_live_very_secret');
    expect(api.secrets.get('toString')).toBeUndefined();
    await runHook(hooks, 'buildAccessTokenClaims', context(), api, { ...run, logger });
    const text = out.join('');
    expect(text).toContain('called with [redacted]');
    expect(text).toContain('"hookModule":"hooks/claims.ts"');
    expect(text).not.toContain('sk_live_very_secret');
  });

  it('a JavaScript hook logging a bare string or an Error is scrubbed too', () => {
    const { api, logger } = setup();
    (api.logger.warn as unknown as (msg: string) => void)('key is sk_live_very_secret');
    api.logger.error(new Error('bad key sk_live_very_secret'));
    api.logger.info({ deep: { a: { b: { c: { d: { e: { f: { g: { h: { i: 'sk_live_very_secret' } } } } } } } } } });
    expect(logger.lines.map((l) => l.msg)).toEqual(['key is [redacted]', undefined, undefined]);
    expect(logger.lines[1]?.obj).toMatchObject({ err: { type: 'Error', message: 'bad key [redacted]' }, hookModule: 'hooks/claims.ts' });
    expect(logger.text()).not.toContain('sk_live_very_secret');
  });

  it('are scrubbed from the failure log of a hook that throws them', async () => {
    const { api, run, logger } = setup({ secrets: { db: 'hunter2' } });
    const hooks = await loadHooks('throws.js', FIXTURES);
    await expect(runHook(hooks, 'isAuthorized', context(), api, run)).rejects.toThrow(HookError);
    expect(logger.text()).toContain('password=[redacted]');
    expect(logger.text()).not.toContain('hunter2');
  });
});

describe('fetch', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('is aborted at the hook deadline: the hook times out and the connection is closed', async () => {
    let closed: Promise<unknown> | undefined;
    server = createServer((req) => { closed = once(req.socket, 'close'); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`;
    const hooks = await loadHooks('slow.ts', FIXTURES);
    const { api, run } = setup({ timeoutMs: 200 });
    const err = await runHook(hooks, 'loadAttrs', context({ params: { url } }), api, { ...run, timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', hook: 'loadAttrs' });
    await closed;
  });

  it('a hook wrapping the aborted fetch error still fails as a timeout', async () => {
    server = createServer(() => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const { api, run } = setup({ timeoutMs: 100 });
    const wraps = { module: 'wraps', path: '/wraps', hooks: { loadAttrs: async (_c: unknown, a: typeof api) => {
      try {
        await a.fetch(url);
      } catch (err) {
        throw new Error('HR directory unavailable', { cause: err });
      }
      return {};
    } } };
    await expect(runHook(wraps, 'loadAttrs', context(), api, { ...run, timeoutMs: 5000 })).rejects.toMatchObject({ kind: 'timeout' });
  });

  it('on its own, a fetch outlasting timeoutMs is aborted', async () => {
    server = createServer(() => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { api } = setup({ timeoutMs: 100 });
    await expect(api.fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)).rejects.toThrow(/timeout|aborted/i);
  });
});
