// Behind proxies (server.trustProxy): the client address in the request log is the entry of
// X-Forwarded-For that Baton's own proxies appended (server.proxyHops from the right), never one the
// client wrote itself; without trustProxy the header is ignored.
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';

import { startBaton, type RunningBaton } from '../helpers/baton.ts';

const started: RunningBaton[] = [];
afterAll(() => Promise.all(started.map((b) => b.stop())));

/** The `ip` Baton logs for one request carrying `forwardedFor`. */
async function loggedIp(server: Record<string, unknown>, forwardedFor: string): Promise<unknown> {
  const lines: Array<Record<string, unknown>> = [];
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const baton = await startBaton({ server }, { logger: pino({ level: 'info' }, capture) });
  started.push(baton);
  await fetch(`${baton.url}/healthz`, { headers: { 'x-forwarded-for': forwardedFor } });
  await expect.poll(() => lines.some((l) => l.path === '/healthz')).toBe(true);
  return lines.find((l) => l.path === '/healthz')!.ip;
}

// The client forged the first entry; the load balancer appended the second (what it saw).
const CHAIN = '203.0.113.66, 198.51.100.7';

describe('client address behind proxies', () => {
  it('one proxy (the default): the right-most entry, not the forged one', async () => {
    expect(await loggedIp({ trustProxy: true }, CHAIN)).toBe('198.51.100.7');
  });

  it('two proxies (CDN, then load balancer): the second entry from the right', async () => {
    expect(await loggedIp({ trustProxy: true, proxyHops: 2 }, `192.0.2.1, ${CHAIN}`)).toBe('203.0.113.66');
  });

  it('without trustProxy the header is ignored: the socket address', async () => {
    expect(await loggedIp({ trustProxy: false }, CHAIN)).toBe('127.0.0.1');
  });
});
