// Upstream tokens that never expire (GitHub OAuth Apps: no expires_in, no refresh token) keep a
// `when-expired` session going without asking the upstream; a token without expiry but with a refresh
// token is checked with the upstream (here unreachable, so the session ends without a grace period).
import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load.ts';
import { deriveKey } from '../../src/keys/seal.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { createUpstreams } from '../../src/upstream/index.ts';
import { UpstreamSessions } from '../../src/upstream/session.ts';
import { UpstreamVault } from '../../src/upstream/vault.ts';
import { freePort } from '../helpers/baton.ts';

async function sessions() {
  // Nothing listens on this port: any upstream call fails as unreachable.
  const dead = `http://127.0.0.1:${await freePort()}`;
  const config = validateConfig({
    issuer: 'https://baton.example', development: true, storage: { type: 'memory' },
    upstreams: [{
      id: 'github', type: 'oauth2', clientId: 'gh', clientSecret: 'gh-secret-0123456789',
      authorizationEndpoint: `${dead}/login/oauth/authorize`, tokenEndpoint: `${dead}/login/oauth/access_token`, userinfoEndpoint: `${dead}/user`,
      subject: ['id'], refresh: 'when-expired',
    }],
  }, 'test');
  const store = new MemoryStore();
  const vault = new UpstreamVault(store, deriveKey('sessions-test-master-secret-0123456789', 'upstream-vault'), 3600);
  const upstreams = createUpstreams(config);
  return { vault, sessions: new UpstreamSessions({ config, store, vault, upstreams, logger: createLogger('silent'), now: Date.now }) };
}

describe('when-expired with tokens that carry no expiry', () => {
  it('no expiry and no refresh token: the token does not expire, the upstream is not asked', async () => {
    const { vault, sessions: s } = await sessions();
    await vault.put('grant-1', { upstream: 'github', tokens: { accessToken: 'gho_token' }, refreshedAt: Math.floor(Date.now() / 1000) - 86_400 });
    expect(await s.renew('grant-1', 'web', 'github:1')).toEqual({ kind: 'not-needed' });
  });

  it('no expiry but a refresh token: the upstream is asked (unreachable here: the session ends)', async () => {
    const { vault, sessions: s } = await sessions();
    await vault.put('grant-2', { upstream: 'github', tokens: { accessToken: 'ghu_token', refreshToken: 'ghr_token' }, refreshedAt: Math.floor(Date.now() / 1000) });
    expect(await s.renew('grant-2', 'web', 'github:1')).toMatchObject({ kind: 'ended' });
  });
});
