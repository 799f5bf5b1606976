// How Baton reaches authorizers: undici's dispatch API (the HTTP client inside Node's fetch, below
// its request API: no WHATWG Response, no body stream, no async resource, no abort signal per call;
// the fan-out's CPU per decision is what bounds it under load), on one keep-alive connection pool
// per process. Redirects are never followed: a 3xx is a non-200 answer, and the request JWT goes
// nowhere else. undici loads on the first call: a Baton without authorizers never holds it (~20 MiB of RSS).
import type { Agent, Dispatcher } from 'undici';

/** An authorizer's answer before it is judged: the status, the declared length, and the body. */
export interface RawAnswer {
  readonly status: number;
  /** The Content-Length header, when the authorizer sent one. */
  readonly contentLength?: number;
  readonly body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Drops the rest of the body (a non-200 answer, an answer too large). */
  discard(): Promise<void>;
}

export interface PostInit {
  /** Header names and values, alternating. */
  headers: string[];
  body: string;
  /** Milliseconds for the whole exchange, body included; then it fails with a `TimeoutError`. */
  timeout: number;
  /** A 200 body is buffered up to one chunk past this; the reader refuses it (protocol.ts readBounded). */
  maxBytes: number;
}

export type AuthorizerPost = (url: string, init: PostInit) => Promise<RawAnswer>;

let pool: Agent | undefined;
let loading: Promise<Agent> | undefined;

function undici(): Promise<Agent> {
  loading ??= import('undici').then(({ Agent }) => {
    pool = new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 10_000 } });
    return pool;
  });
  return loading;
}

/** Where a URL is dispatched (undici's own split of a URL string: origin, then path and query), parsed once per process. */
const targets = new Map<string, { origin: string; path: string }>();

function target(url: string): { origin: string; path: string } {
  let found = targets.get(url);
  if (!found) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError('authorizer URL must be http or https');
    found = { origin: parsed.origin, path: parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname };
    targets.set(url, found);
  }
  return found;
}

const nothingToDiscard = async (): Promise<void> => undefined;

/**
 * One exchange: settles with the answer once a 200 body has ended (or grown past `maxBytes`), or
 * at the headers of any other status, whose body is then drained and dropped so the connection
 * stays reusable. The deadline covers the drain too; a deadline or a transport error before
 * settling rejects.
 */
class Exchange implements Dispatcher.DispatchHandler {
  #status = 0;
  #contentLength: number | undefined;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #settled = false;
  #controller: Dispatcher.DispatchController | undefined;
  #expired: Error | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly maxBytes: number, timeout: number, private readonly resolve: (answer: RawAnswer) => void, private readonly reject: (err: unknown) => void) {
    this.#timer = setTimeout(() => this.#expire(), timeout);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#expired) controller.abort(this.#expired);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // 1xx: informational, the answer follows
    this.#status = statusCode;
    const declared = headers['content-length'];
    if (typeof declared === 'string' && /^\d+$/.test(declared)) this.#contentLength = Number(declared);
    if (statusCode !== 200) {
      this.#settle();
    } else if (this.#contentLength !== undefined && this.#contentLength > this.maxBytes) {
      this.#settle();
      controller.abort(new Error('authorizer answer too large'));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#size += chunk.byteLength;
    if (this.#settled) {
      if (this.#size > this.maxBytes) controller.abort(new Error('authorizer answer too large'));
      return;
    }
    this.#chunks.push(chunk);
    if (this.#size > this.maxBytes) {
      this.#settle();
      controller.abort(new Error('authorizer answer too large'));
    }
  }

  onResponseEnd(): void {
    clearTimeout(this.#timer);
    this.#settle();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    clearTimeout(this.#timer);
    if (this.#settled) return;
    this.#settled = true;
    this.reject(err);
  }

  #expire(): void {
    this.#expired = new DOMException('authorizer deadline', 'TimeoutError');
    if (!this.#settled) {
      this.#settled = true;
      this.reject(this.#expired);
    }
    this.#controller?.abort(this.#expired);
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    const status = this.#status;
    const contentLength = this.#contentLength;
    const body = this.#chunks;
    this.resolve(contentLength === undefined ? { status, body, discard: nothingToDiscard } : { status, contentLength, body, discard: nothingToDiscard });
  }
}

export const undiciPost: AuthorizerPost = (url, init) => (pool ? exchange(pool, url, init) : undici().then((loaded) => exchange(loaded, url, init)));

function exchange(dispatcher: Agent, url: string, { headers, body, timeout, maxBytes }: PostInit): Promise<RawAnswer> {
  return new Promise<RawAnswer>((resolve, reject) => {
    const { origin, path } = target(url);
    const handler = new Exchange(maxBytes, timeout, resolve, reject);
    try {
      dispatcher.dispatch({ origin, path, method: 'POST', headers, body }, handler);
    } catch (err) {
      // Refused before any I/O (a closed pool): fail now, and leave no deadline timer behind.
      handler.onResponseError(undefined, err as Error);
    }
  });
}
