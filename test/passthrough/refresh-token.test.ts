// Wrapped refresh tokens on their own, with a controlled clock: JWE keys rotate daily and stay
// readable for the token's lifetime, expiry is capped by the upstream's, the binding to client and
// issuer holds; a handle is spent by exactly one of concurrent refreshes and can be released, and the
// handles rotated from one sign-in form a family that reuse ends at once.
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';

import { deriveKey } from '../../src/keys/seal.ts';
import { refreshTokens } from '../../src/passthrough/refresh-token.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';

const DAY = 24 * 3600 * 1000;
const secret = deriveKey('test-master-secret-0123456789abcdefghij', 'passthrough-refresh');
const grant = { upstreamRefreshToken: 'upstream-rt', sub: 'idp:alice', authTime: 1_700_000_000, scope: 'openid email' };

function clocked(mode: 'jwe' | 'handle', issuer = 'https://id.example.com/passthrough/app') {
  const time = { now: Date.UTC(2025, 0, 1) };
  const store = new MemoryStore({ clock: () => time.now });
  return { time, tokens: refreshTokens({ mode, issuer, ttl: 14 * 24 * 3600, secret, store, clock: () => time.now }), store };
}

describe('JWE refresh tokens', () => {
  it('stay readable across key rotations for their lifetime, then expire', async () => {
    const { time, tokens } = clocked('jwe');
    const token = await tokens.wrap(grant, 'app');
    const firstKid = decodeProtectedHeader(token).kid;
    time.now += 10 * DAY;
    expect(decodeProtectedHeader(await tokens.wrap(grant, 'app')).kid).not.toBe(firstKid);
    expect((await tokens.unwrap(token, 'app')).grant).toMatchObject(grant);
    time.now += 5 * DAY;
    await expect(tokens.unwrap(token, 'app')).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('expire no later than the upstream token', async () => {
    const { time, tokens } = clocked('jwe');
    const token = await tokens.wrap(grant, 'app', 3600);
    time.now += 3601 * 1000;
    await expect(tokens.unwrap(token, 'app')).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('are bound to the client and the passthrough issuer', async () => {
    const { tokens } = clocked('jwe');
    const token = await tokens.wrap(grant, 'app');
    await expect(tokens.unwrap(token, 'other-app')).rejects.toMatchObject({ error: 'invalid_grant' });
    const elsewhere = clocked('jwe', 'https://id.example.com/passthrough/other').tokens;
    await expect(elsewhere.unwrap(token, 'app')).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await tokens.revoke(token, 'other-app')).toBeUndefined();
  });
});

describe('handle refresh tokens', () => {
  it('are spent by exactly one of concurrent refreshes; a released one can be used again', async () => {
    const { tokens } = clocked('handle');
    const token = await tokens.wrap(grant, 'app');
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => tokens.unwrap(token, 'app')));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof tokens.unwrap>>>).value.release();
    expect((await tokens.unwrap(token, 'app')).grant).toMatchObject(grant);
    await expect(tokens.unwrap(token, 'app')).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('given back with the upstream\'s replacement token wrap that one; a handle changed meanwhile is not given back', async () => {
    const { tokens } = clocked('handle');
    const token = await tokens.wrap(grant, 'app');
    const spent = await tokens.unwrap(token, 'app');
    await spent.release('upstream-rt-rotated');
    const again = await tokens.unwrap(token, 'app');
    expect(again.grant).toMatchObject({ ...grant, upstreamRefreshToken: 'upstream-rt-rotated', family: spent.grant.family });
    // Given back without a replacement: the same upstream token.
    await again.release();
    const third = await tokens.unwrap(token, 'app');
    expect(third.grant.upstreamRefreshToken).toBe('upstream-rt-rotated');
    // Ended while spent (revoked, a reuse elsewhere): giving it back fails instead of reviving it.
    await tokens.revoke(token, 'app');
    await expect(third.release('upstream-rt-3')).rejects.toThrow(/not given back/);
    await expect(tokens.unwrap(token, 'app')).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('are bound to the client, never store the handle itself, and end on revocation', async () => {
    const { tokens, store } = clocked('handle');
    const token = await tokens.wrap(grant, 'app');
    await expect(tokens.unwrap(token, 'other-app')).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await store.getRecord('passthrough-refresh', token)).toBeUndefined();
    expect(await tokens.revoke(token, 'app')).toMatchObject(grant);
    await expect(tokens.unwrap(token, 'app')).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('rotated from one sign-in form a family, ended at once on reuse; other families and clients are untouched', async () => {
    const { tokens } = clocked('handle');
    const first = await tokens.wrap(grant, 'app');
    const { grant: opened } = await tokens.unwrap(first, 'app');
    expect(opened.family).toMatch(/^[0-9a-f-]{36}$/);
    const successor = await tokens.wrap({ ...grant, family: opened.family }, 'app');
    const unrelated = await tokens.wrap(grant, 'app');
    expect(await tokens.peek(first, 'app')).toMatchObject({ spent: true });
    expect(await tokens.peek(successor, 'app')).toMatchObject({ spent: false, grant: { family: opened.family } });
    await tokens.endChain(first, 'other-app');
    expect(await tokens.peek(successor, 'app')).toBeDefined();
    await tokens.endChain(first, 'app');
    expect(await tokens.peek(successor, 'app')).toBeUndefined();
    await expect(tokens.unwrap(successor, 'app')).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await tokens.unwrap(unrelated, 'app')).grant).toMatchObject(grant);
  });
});
