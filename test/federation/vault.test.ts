// The upstream token vault: sealed at rest, bound to its grant, moved from the sign-in stash to the
// grant exactly once.
import { describe, expect, it } from 'vitest';

import { deriveKey } from '../../src/keys/seal.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { UpstreamVault, type VaultEntry } from '../../src/upstream/vault.ts';

const key = deriveKey('vault-test-master-secret-0123456789abc', 'upstream-vault');
const entry: VaultEntry = {
  upstream: 'google',
  tokens: { accessToken: 'upstream-AT-secret', refreshToken: 'upstream-RT-secret', idToken: 'upstream-IDT-secret', expiresAt: 2_000_000_000 },
  refreshedAt: 1_900_000_000,
};

describe('upstream vault', () => {
  it('stores tokens sealed: nothing readable in the store', async () => {
    const store = new MemoryStore();
    const vault = new UpstreamVault(store, key, 3600);
    await vault.put('grant-1', entry);
    const raw = JSON.stringify((await store.getRecord('upstream-vault', 'grant-1'))?.value);
    expect(raw).toMatch(/"sealed":"v1\./);
    expect(raw).not.toMatch(/upstream-(AT|RT|IDT)-secret|google/);
    expect(await vault.get('grant-1')).toEqual(entry);
  });

  it('binds an entry to its grant: a sealed value moved to another grant does not open', async () => {
    const store = new MemoryStore();
    const vault = new UpstreamVault(store, key, 3600);
    await vault.put('grant-1', entry);
    const sealed = await store.getRecord('upstream-vault', 'grant-1');
    await store.putRecord('upstream-vault', 'grant-2', sealed!.value);
    await expect(vault.get('grant-2')).rejects.toThrow(/cannot decrypt/);
  });

  it('moves stashed sign-in tokens to the grant once', async () => {
    const vault = new UpstreamVault(new MemoryStore(), key, 3600);
    await vault.stash('stash-1', entry, 600);
    expect(await vault.claim('stash-1', 'grant-9')).toBe(true);
    expect(await vault.claim('stash-1', 'grant-10')).toBe(false);
    expect(await vault.get('grant-9')).toEqual(entry);
    expect(await vault.get('grant-10')).toBeUndefined();
  });

  it('a different master secret cannot open the vault', async () => {
    const store = new MemoryStore();
    await new UpstreamVault(store, key, 3600).put('grant-1', entry);
    const other = new UpstreamVault(store, deriveKey('another-master-secret-0123456789abcdef', 'upstream-vault'), 3600);
    await expect(other.get('grant-1')).rejects.toThrow(/wrong master secret/);
  });
});
