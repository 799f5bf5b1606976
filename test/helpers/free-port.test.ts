// freePort answers ports that a test's fetch() can reach: never one of the Fetch standard's bad ports.
import { readFileSync } from 'node:fs';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { freePort, NEVER_PICKED } from './free-port.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Where the kernel's ephemeral ports start (Linux), or undefined: freePort draws below it. */
function ephemeralLow(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
}
const low = ephemeralLow();

describe('freePort', () => {
  // freePort draws at random only where 1,000 ports or more lie between 10,000 and the ephemeral range.
  it.skipIf(low === undefined || low - 10_000 < 1_000)('draws again when its first draw is 10080, the Fetch standard bad port in its range (skipped where it does not draw)', async () => {
    // The first draw lands on 10080 (10,000 + 80 of the range below the ephemeral ports), later ones anywhere.
    const random = vi.spyOn(Math, 'random').mockReturnValueOnce((80 + 0.5) / (low! - 10_000));
    const port = await freePort();
    expect(random.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(port).not.toBe(10080);
    const refused = await fetch('http://127.0.0.1:10080/').then(() => undefined, (error: Error) => error.cause as Error);
    expect(refused?.message).toBe('bad port');
  });

  it('answers a port fetch() can reach and nothing listens on', async () => {
    const port = await freePort();
    expect(NEVER_PICKED.has(port)).toBe(false);
    const refused = await fetch(`http://127.0.0.1:${port}/`).then(() => undefined, (error: Error) => error.cause as NodeJS.ErrnoException);
    expect(refused?.code).toBe('ECONNREFUSED');
  });
});
