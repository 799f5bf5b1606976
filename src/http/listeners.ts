// Baton's HTTP listeners: the main one and, with `metrics.port`, the separate metrics one, both held
// to explicit limits for slow or oversized clients (`server.*`). Closing drains them: no new
// connections, idle keep-alive sockets closed at once, the rest cut when the grace period ends.
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface MetricsListener {
  readonly handle: Handler;
  readonly port: number;
  readonly host: string;
}

/** How long (ms) the metrics listener may take to finish a scrape on close. */
const METRICS_GRACE_MS = 1000;

/** Limits on clients (`server.*`; seconds, bytes). */
export interface ClientLimits {
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  readonly maxHeaderSize: number;
}

/** Node's options for `limits`. */
function serverOptions(limits: ClientLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeout * 1000,
    requestTimeout: limits.requestTimeout * 1000,
    keepAliveTimeout: limits.keepAliveTimeout * 1000,
    maxHeaderSize: limits.maxHeaderSize,
    // Node checks the two timeouts on this interval (30 s by default): once a second keeps them close to what is configured.
    connectionsCheckingInterval: 1000,
  };
}

export class Listeners {
  #main: Server | undefined;
  #metrics: Server | undefined;
  #metricsAddress: AddressInfo | undefined;

  get metricsAddress(): AddressInfo | undefined {
    return this.#metricsAddress;
  }

  /** Listens with `handle` (and the metrics listener, when given); rejects with the listen error (EADDRINUSE carries `port`). */
  async open(handle: Handler, port: number, host: string, limits: ClientLimits, metrics?: MetricsListener): Promise<AddressInfo> {
    const options = serverOptions(limits);
    this.#main = await listenOn(createServer(options, handle), port, host);
    if (metrics) {
      this.#metrics = await listenOn(createServer(options, metrics.handle), metrics.port, metrics.host);
      this.#metricsAddress = this.#metrics.address() as AddressInfo;
    }
    return this.#main.address() as AddressInfo;
  }

  async close(graceMs: number): Promise<void> {
    await Promise.all([
      this.#main && drain(this.#main, graceMs),
      this.#metrics && drain(this.#metrics, METRICS_GRACE_MS),
    ]);
  }
}

function listenOn(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function drain(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs).unref();
    server.close(() => {
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
