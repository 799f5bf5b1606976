// Test fixtures for the authorizer fan-out: an ES256 signer playing Baton, real HTTP authorizer
// servers on 127.0.0.1 that verify its JWT, a capturing logger and a controllable clock.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

import type { AuthorizerConfig } from '../../../src/config/orchestration.ts';
import { createLogger, type Logger } from '../../../src/observability/logger.ts';
import { MemoryStore } from '../../../src/storage/memory/memory-store.ts';

export const ISSUER = 'https://baton.test';

/** Baton's side of the JWT: a real ES256 key; `sign` adds iss, iat, exp (+60 s) and jti like the lead's signer. */
export interface Signer {
  sign: (audience: string, payload: Record<string, unknown>) => Promise<string>;
  publicKey: CryptoKey;
  publicJwk: JWK;
  /** Every JWT signed so far (to check none reaches a log). */
  issued: string[];
}

export async function createSigner(): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const issued: string[] = [];
  const sign = async (audience: string, payload: Record<string, unknown>) => {
    const jwt = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: 'test-key', typ: 'JWT' })
      .setIssuer(ISSUER).setAudience(audience).setIssuedAt().setExpirationTime('60s').setJti(randomUUID())
      .sign(privateKey);
    issued.push(jwt);
    return jwt;
  };
  return { sign, publicKey, publicJwk, issued };
}

/** What a test authorizer answers: a status and a body (an object is sent as JSON, a string as is). */
export interface Reply { status?: number; body: unknown }
export interface Received { body: Record<string, unknown>; jwt: JWTPayload }
export type Handler = (received: Received) => Reply | Promise<Reply>;

export interface TestAuthorizer {
  url: string;
  /** Requests that reached the handler (JWT valid). */
  readonly calls: Received[];
  /** Every request, refused ones included. */
  readonly hits: number;
  handler: Handler;
  close: () => Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

/** A real authorizer on 127.0.0.1: 401 unless the bearer JWT verifies with `audience`, else `handler`. */
export async function startAuthorizer(audience: string, publicKey: CryptoKey, handler: Handler): Promise<TestAuthorizer> {
  const calls: Received[] = [];
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits += 1;
    void (async () => {
      const body = await readJson(req);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      let jwt: JWTPayload;
      try {
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/json' || !token) throw new Error('refused');
        jwt = (await jwtVerify(token, publicKey, { audience, issuer: ISSUER, algorithms: ['ES256'] })).payload;
      } catch {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
        return;
      }
      const received = { body, jwt };
      calls.push(received);
      const reply = await authorizer.handler(received);
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' }).end(text);
    })().catch(() => { if (!res.headersSent) res.writeHead(500).end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const authorizer: TestAuthorizer = {
    url: `http://127.0.0.1:${port}/decide`,
    calls,
    get hits() { return hits; },
    handler,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  return authorizer;
}

/** A configuration as the schema would produce it (timeout and cacheTTL in seconds). */
export function authorizerConfig(id: string, url: string, overrides: Partial<AuthorizerConfig> = {}): AuthorizerConfig {
  return { id, url, namespace: `${id}:`, timeout: 2, onFailure: 'deny', cacheTTL: 0, ...overrides };
}

/** A Baton logger (with its redaction) whose JSON lines are kept in `lines`. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[]; raw: string[] } {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = createLogger('info', { write: (line: string) => { raw.push(line); lines.push(JSON.parse(line) as Record<string, unknown>); } });
  return { logger, lines, raw };
}

/** A settable clock shared by the store and the fan-out. */
export function testClock(start = Date.UTC(2030, 0, 1)): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => { now += ms; } };
}

export function memoryStore(clock: () => number): MemoryStore {
  return new MemoryStore({ clock });
}

/** Grants everything asked. */
export const grantAll: Handler = () => ({ body: { decision: 'grant' } });

/** A promise that resolves once `count` parties have arrived. */
export function barrier(count: number): { arrive: () => Promise<void> } {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return { arrive: () => { arrived += 1; if (arrived >= count) open(); return opened; } };
}

/** A URL on 127.0.0.1 where nothing listens (connection refused). */
export async function freePortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/decide`;
}
