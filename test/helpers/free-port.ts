// A free TCP port on 127.0.0.1 for a server that must know its port before it listens, shared by
// the tests and the benchmarks (bench/support.ts): neither may collide with the other's listeners.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port freePort picks: above the well-known and registered services a test machine runs. */
const FLOOR = 10_000;
/**
 * Ports freePort never picks: services that may be running below the ephemeral range (memcached,
 * RabbitMQ's management and distribution ports), and the Fetch standard's "bad ports" at or above
 * FLOOR (10080: `fetch()` refuses it with "bad port" before connecting; a benchmark hit it).
 */
export const NEVER_PICKED = new Set([10080, 11211, 15672, 25672]);

/**
 * A port nothing listens on, for a server that must know its port before it listens (its issuer
 * URL). Picked at random below the kernel's ephemeral range: a port from that range (what listen(0)
 * gives) that is closed again can become the source port of any outgoing connection, and suites run
 * in parallel (clients, PostgreSQL, Redis), so it could be taken before the caller listens
 * (EADDRINUSE; seen in CI). Below the range only another freePort caller could pick the same port.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; low - FLOOR >= 1_000 && attempt < 20; attempt += 1) {
    const port = FLOOR + Math.floor(Math.random() * (low - FLOOR));
    if (!NEVER_PICKED.has(port) && (await listens(port))) return port;
  }
  return listens(0);
}

/** The first port of the kernel's ephemeral range (Linux), else the IANA range's. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 49_152;
  } catch {
    return 49_152;
  }
}

/** Listens on `port` (0: any) on 127.0.0.1 and closes again: answers the port, or 0 when it was taken. */
async function listens(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(0) : reject(err)));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}
