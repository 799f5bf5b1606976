// `api.session`: values a hook sets are kept in Baton's store per client and user, and the next hook
// for that user (another request, another process sharing the store) sees them; a failing hook saves
// nothing; other users and other clients have their own.
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load.ts';
import { HOOK_SESSION_KIND, HookPoints } from '../../src/orchestration/hook-points.ts';
import { HookError, type HookContext, type HookUser } from '../../src/orchestration/hooks/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';

const MODULE = fileURLToPath(new URL('./fixtures/session-hooks.ts', import.meta.url));
const user = (sub: string): HookUser => ({ sub, upstream: 'corp', upstreamSubject: sub, claims: {}, attrs: {} });
const ctx = (client: string, sub: string, flow: HookContext['flow'] = 'authorization'): Omit<HookContext, 'hook'> =>
  ({ client: { id: client }, flow, scopes: ['openid'], params: {}, user: user(sub), requestId: 'req' });

const store = new MemoryStore();
/** Two instances sharing one store, as two processes would. */
let first: HookPoints;
let second: HookPoints;

beforeAll(async () => {
  const hooks = { module: MODULE, timeout: '2s' };
  const config = validateConfig({
    issuer: 'https://baton.example', development: true, storage: { type: 'memory' }, ttl: { grant: '1d' },
    clients: [
      { client_id: 'web', client_secret: 'web-secret-0123456789', redirect_uris: ['https://web.example/cb'], hooks },
      { client_id: 'other', client_secret: 'other-secret-0123456789', redirect_uris: ['https://other.example/cb'], hooks },
    ],
  }, 'test');
  const deps = { store, logger: createLogger('silent') };
  [first, second] = await Promise.all([HookPoints.load(config, '/', deps), HookPoints.load(config, '/', deps)]);
});

describe('api.session', () => {
  it('carries values from one hook call to the next for the same client and user, across instances', async () => {
    await first.run('web', 'loadAttrs', ctx('web', 'alice'));
    await second.run('web', 'loadAttrs', ctx('web', 'alice'));
    expect(await first.run('web', 'buildAccessTokenClaims', ctx('web', 'alice', 'token'))).toEqual({ signIns: 2, poisoned: false });
    const record = await store.getRecord<Record<string, unknown>>(HOOK_SESSION_KIND, 'web:alice');
    expect(record?.value).toEqual({ signIns: 2 });
  });

  it('is per user and per client', async () => {
    expect(await first.run('web', 'buildAccessTokenClaims', ctx('web', 'bob', 'token'))).toEqual({ signIns: 0, poisoned: false });
    expect(await first.run('other', 'buildAccessTokenClaims', ctx('other', 'alice', 'token'))).toEqual({ signIns: 0, poisoned: false });
  });

  it('a hook that fails saves nothing it set', async () => {
    await expect(first.run('web', 'isAuthorized', ctx('web', 'alice'))).rejects.toBeInstanceOf(HookError);
    expect(await first.run('web', 'buildAccessTokenClaims', ctx('web', 'alice', 'token'))).toEqual({ signIns: 2, poisoned: false });
  });
});
