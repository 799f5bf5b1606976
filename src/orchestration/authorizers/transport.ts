// How Baton reaches authorizers: undici's request API (the HTTP client inside Node's fetch, without
// the WHATWG Response, Headers and stream layers: about four times less CPU per call, which is what
// bounds the fan-out under load), on one keep-alive connection pool per process. Redirects are
// never followed: a 3xx is a non-200 answer, and the request JWT goes nowhere else. undici loads on
// the first call: a Baton without authorizers never holds it (~20 MiB of RSS).
import type { Agent } from 'undici';

/** An authorizer's answer before it is read: the status, the declared length, and the body. */
export interface RawAnswer {
  readonly status: number;
  /** The Content-Length header, when the authorizer sent one. */
  readonly contentLength?: number;
  readonly body: AsyncIterable<Uint8Array>;
  /** Drops the rest of the body (a non-200 answer, an answer too large). */
  discard(): Promise<void>;
}

export type AuthorizerPost = (url: string, init: { headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<RawAnswer>;

let client: Promise<{ request: typeof import('undici').request; pool: Agent }> | undefined;

function undici() {
  client ??= import('undici').then(({ Agent, request }) => ({ request, pool: new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 10_000 } }) }));
  return client;
}

export const undiciPost: AuthorizerPost = async (url, { headers, body, signal }) => {
  const { request, pool } = await undici();
  const response = await request(url, { method: 'POST', headers, body, signal, dispatcher: pool });
  const declared = response.headers['content-length'];
  const contentLength = typeof declared === 'string' && /^\d+$/.test(declared) ? Number(declared) : undefined;
  return {
    status: response.statusCode,
    ...(contentLength === undefined ? {} : { contentLength }),
    body: response.body,
    discard: async () => {
      await response.body.dump().catch(() => undefined);
    },
  };
};
