// The buffered request lines (`request`, `token exchanged`, authorizers' info decisions) are written
// when Baton closes, even when a step of closing fails (the process exits right after).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { startBaton } from '../helpers/baton.ts';

describe('closing Baton', () => {
  it('flushes the access log even when the store fails to close', async () => {
    const inner = new MemoryStore();
    const store = new Proxy(inner, {
      get(target, name) {
        if (name === 'close') return () => Promise.reject(new Error('the disk went away'));
        const value = Reflect.get(target, name) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as Store;
    const accessLogger = pino({ level: 'info' }, { write: () => undefined });
    let flushed = 0;
    const flush = accessLogger.flush.bind(accessLogger);
    accessLogger.flush = (...args: Parameters<typeof flush>) => {
      flushed += 1;
      return flush(...args);
    };
    const running = await startBaton({}, { store, accessLogger });
    expect((await fetch(`${running.url}/.well-known/openid-configuration`)).status).toBe(200);
    const before = flushed;
    await expect(running.stop()).rejects.toThrow(/disk went away/);
    expect(flushed).toBe(before + 1);
  });
});
