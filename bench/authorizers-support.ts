// Helpers for bench/authorizers.ts: an authorizer on 127.0.0.1 that grants after a fixed delay,
// an ES256 request signer like Baton's, percentiles and environment numbers.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { generateKeyPair, SignJWT } from 'jose';

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

/** Signs like Baton's request signer: ES256, iss, aud, iat, exp +60 s, jti. */
export async function benchSigner(): Promise<(audience: string, payload: Record<string, unknown>) => Promise<string>> {
  const { privateKey } = await generateKeyPair('ES256');
  return (audience, payload) => new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setIssuer('http://127.0.0.1').setAudience(audience).setIssuedAt().setExpirationTime('60s').setJti(randomUUID())
    .sign(privateKey);
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

