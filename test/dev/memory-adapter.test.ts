// The demo IdP's storage adapter (also the test upstreams'): lookups by uid, user code and grant
// through its index, across a provider rebuild (a second adapter class over the same storage),
// and never to an expired, destroyed, revoked or replaced entry.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { memoryAdapter, type AdapterStorage } from '../../src/dev/idp/memory-adapter.ts';

describe('the dev IdP memory adapter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('finds by uid and user code among many, and a rebuilt provider finds what the first stored', async () => {
    const storage: AdapterStorage = new Map();
    const Session = new (memoryAdapter(storage))('Session');
    const DeviceCode = new (memoryAdapter(storage))('DeviceCode');
    for (let i = 0; i < 200; i++) {
      await Session.upsert(`s${i}`, { uid: `u${i}`, grantId: `g${i % 7}` }, 600);
      await DeviceCode.upsert(`d${i}`, { userCode: `UC-${i}`, grantId: `g${i % 7}` }, 600);
    }
    // Another model with the same uid is not found through Session.
    await new (memoryAdapter(storage))('Interaction').upsert('i1', { uid: 'u-interaction' }, 600);
    const rebuilt = new (memoryAdapter(storage))('Session');
    expect(await rebuilt.findByUid('u150')).toMatchObject({ uid: 'u150' });
    expect(await Session.findByUid('u-interaction')).toBeUndefined();
    expect(await DeviceCode.findByUserCode('UC-9')).toMatchObject({ userCode: 'UC-9' });
    expect(await DeviceCode.findByUid('u9')).toBeUndefined();
  });

  it('a replaced, destroyed or expired entry is not found by its old values', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const Session = new (memoryAdapter(new Map()))('Session');
    await Session.upsert('s1', { uid: 'old' }, 600);
    await Session.upsert('s1', { uid: 'new' }, 600);
    expect(await Session.findByUid('old')).toBeUndefined();
    expect(await Session.findByUid('new')).toMatchObject({ uid: 'new' });
    await Session.destroy('s1');
    expect(await Session.findByUid('new')).toBeUndefined();

    await Session.upsert('s2', { uid: 'short' }, 10);
    await Session.upsert('s3', { uid: 'short' }, 600);
    vi.setSystemTime(1_000_000 + 10_000);
    // The expired one is skipped, the live one with the same uid found.
    expect(await Session.findByUid('short')).toMatchObject({ uid: 'short' });
    expect(await Session.find('s2')).toBeUndefined();
  });

  it("revoking a grant removes that grant's entries of every model and nothing else", async () => {
    const storage: AdapterStorage = new Map();
    const AccessToken = new (memoryAdapter(storage))('AccessToken');
    const RefreshToken = new (memoryAdapter(storage))('RefreshToken');
    await AccessToken.upsert('a1', { grantId: 'g1' }, 600);
    await AccessToken.upsert('a2', { grantId: 'g2' }, 600);
    await RefreshToken.upsert('r1', { grantId: 'g1', uid: 'ru1' }, 600);
    await AccessToken.revokeByGrantId('g1');
    expect(await AccessToken.find('a1')).toBeUndefined();
    expect(await RefreshToken.find('r1')).toBeUndefined();
    expect(await RefreshToken.findByUid('ru1')).toBeUndefined();
    expect(await AccessToken.find('a2')).toMatchObject({ grantId: 'g2' });
  });
});
