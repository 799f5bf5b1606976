// freePort picks ports that a test's fetch() can reach: never one of the Fetch standard's bad ports.
import { describe, expect, it } from 'vitest';

import { freePort, NEVER_PICKED } from './free-port.ts';

describe('freePort', () => {
  it('never picks 10080, the Fetch standard bad port in its range: fetch() refuses it without connecting', async () => {
    expect(NEVER_PICKED.has(10080)).toBe(true);
    const refused = await fetch('http://127.0.0.1:10080/').then(() => undefined, (error: Error) => error.cause);
    expect(String((refused as Error | undefined)?.message)).toBe('bad port');
  });

  it('answers a port fetch() can reach and nothing listens on', async () => {
    const port = await freePort();
    expect(NEVER_PICKED.has(port)).toBe(false);
    const refused = await fetch(`http://127.0.0.1:${port}/`).then(() => undefined, (error: Error) => error.cause as NodeJS.ErrnoException);
    expect(refused?.code).toBe('ECONNREFUSED');
  });
});
