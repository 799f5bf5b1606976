// The memory store files entries by model (or kind), then id, and its lookups by model, then value
// (src/storage/memory/memory-store.ts): no name or id can reach another's entry, whatever characters
// they hold. The persistent backends key by columns or by escaped keys (their own suites).
import { describe, expect, it } from 'vitest';

import { MemoryStore } from '../../src/storage/memory/memory-store.ts';

describe('memory store keys', () => {
  it('keeps models, kinds, ids and looked-up values apart when they contain the separator a joined key would use', async () => {
    const store = new MemoryStore();
    // Joined as `model\0id`, these two were one key.
    await store.upsert('A', 'B\u0000C', { uid: 'u', grantId: 'g' });
    await store.upsert('A\u0000B', 'C', { uid: 'u', grantId: 'g' });
    expect(await store.find('A', 'B\u0000C')).toEqual({ uid: 'u', grantId: 'g' });
    expect(await store.find('A\u0000B', 'C')).toEqual({ uid: 'u', grantId: 'g' });
    // Destroying one leaves the other, and its lookups.
    await store.destroy('A', 'B\u0000C');
    expect(await store.find('A\u0000B', 'C')).toBeDefined();
    expect(await store.findByUid('A\u0000B', 'u')).toEqual({ uid: 'u', grantId: 'g' });
    expect(await store.findByUid('A', 'u')).toBeUndefined();
    // Lookups by value do not cross models either (`A` + `\0x` against `A\0` + `x`).
    await store.upsert('M', 'one', { uid: '\u0000x' });
    await store.upsert('M\u0000', 'two', { uid: 'x' });
    await store.destroy('M\u0000', 'two');
    expect(await store.findByUid('M', '\u0000x')).toEqual({ uid: '\u0000x' });
    await store.revokeByGrantId('A', 'g');
    expect(await store.findByUid('A\u0000B', 'u')).toBeDefined();
    expect(await store.listModelIds('A\u0000B')).toEqual(['C']);

    expect(await store.putRecord('k', 'a\u0000b', 1)).toBe(true);
    expect(await store.putRecord('k\u0000a', 'b', 2)).toBe(true);
    expect((await store.getRecord('k', 'a\u0000b'))?.value).toBe(1);
    expect((await store.getRecord('k\u0000a', 'b'))?.value).toBe(2);
    expect(await store.listRecordIds('k')).toEqual(['a\u0000b']);
  });
});
