// Helpers for bench/authorizers.ts: an authorizer on 127.0.0.1 that grants after a fixed delay,
// Baton's own ES256 request signer on a fresh key, percentiles and environment numbers.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { batonModule } from './support.ts';

export interface SlowAuthorizer { url: string; close: () => Promise<void> }

/** Reads the body, waits `delayMs`, grants everything asked (no JWT check: only Baton's side is measured). */
export async function startSlowAuthorizer(delayMs: number): Promise<SlowAuthorizer> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"decision":"grant"}'), delayMs));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/decide`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Baton's request signer (src/orchestration/request-signer.ts): ES256, kid, iss, aud, iat, exp +60 s, jti. */
export async function benchSigner(): Promise<(audience: string, payload: Record<string, unknown>) => Promise<string>> {
  // From dist/ with BENCH_BATON=dist (support.ts), as the rest of the fan-out.
  const { ensureAlgorithms } = await import(batonModule('keys/keyset')) as typeof import('../src/keys/keyset.ts');
  const { requestSigner } = await import(batonModule('orchestration/request-signer')) as typeof import('../src/orchestration/request-signer.ts');
  const keys = await ensureAlgorithms({ keys: [] }, ['ES256'], Math.floor(Date.now() / 1000) - 1);
  return requestSigner('http://127.0.0.1', 'ES256', () => keys);
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

