// A free TCP port on 127.0.0.1 for a server that must know its port before it listens, shared by
// the tests and the benchmarks (bench/support.ts): neither may collide with the other's listeners.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port freePort picks: above the well-known and registered services a test machine runs. */
const FLOOR = 10_000;
/**
 * The Fetch standard's "bad ports" above 1023 (https://fetch.spec.whatwg.org/#port-blocking):
 * `fetch()` refuses them with "bad port" before connecting. 10080 lies in freePort's range (a
 * benchmark hit it); the others only in an ephemeral range that starts low.
 */
const FETCH_BAD_PORTS = [1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080];

/**
 * Ports freePort never answers: fetch's bad ports, and services that may be running below the
 * ephemeral range (memcached, RabbitMQ's management and distribution ports).
 */
export const NEVER_PICKED: ReadonlySet<number> = new Set([...FETCH_BAD_PORTS, 11211, 15672, 25672]);

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
  for (;;) {
    const port = await listens(0);
    if (!NEVER_PICKED.has(port)) return port;
  }
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
