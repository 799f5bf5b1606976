// Slow and oversized clients are held to the configured listener limits (`server.headersTimeout`,
// `requestTimeout`, `keepAliveTimeout`, `maxHeaderSize`), not Node's defaults: raw sockets that send
// headers or a body too slowly, or headers too large, are answered (408 / 431) and disconnected.
import { connect, type Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/config/issues.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startBaton, TEST_MASTER_SECRET, type RunningBaton } from '../helpers/baton.ts';

let baton: RunningBaton;
let port: number;

beforeAll(async () => {
  baton = await startBaton({ server: { headersTimeout: '1s', requestTimeout: '2s', keepAliveTimeout: '3s', maxHeaderSize: 2048 } });
  port = Number(new URL(baton.url).port);
});
afterAll(() => baton?.stop());

interface Conversation {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves with the milliseconds from opening until the server closed the connection (rejects after `withinMs`). */
  closed(withinMs: number): Promise<number>;
}

function open(): Promise<Conversation> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    let closedAt: number | undefined;
    const waiters: Array<() => void> = [];
    const socket = connect(port, '127.0.0.1', () => resolve({
      socket,
      received: () => data,
      closed: (withinMs) => new Promise((done, fail) => {
        if (closedAt !== undefined) return done(closedAt - started);
        const timer = setTimeout(() => fail(new Error(`still connected after ${withinMs} ms; received: ${data.slice(0, 80)}`)), withinMs);
        waiters.push(() => { clearTimeout(timer); done(closedAt! - started); });
      }),
    }));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { data += chunk; });
    socket.on('error', () => undefined);
    socket.on('close', () => { closedAt = Date.now(); waiters.splice(0).forEach((w) => w()); });
    socket.once('error', reject);
  });
}

/** Writes `text` a few bytes at a time until the socket closes or `stop` says so. */
function trickle(socket: Socket, text: string, everyMs: number): () => void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) return clearInterval(timer);
    socket.write(text.slice(at, at + 2));
    at += 2;
  }, everyMs);
  return () => clearInterval(timer);
}

describe('listener limits', () => {
  it('headers sent too slowly: 408 and disconnected after headersTimeout', async () => {
    const c = await open();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const stop = trickle(c.socket, `X-Slow: ${'a'.repeat(200)}\r\n\r\n`, 100);
    try {
      const after = await c.closed(5000);
      expect(after).toBeGreaterThanOrEqual(900);
      expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      stop();
      c.socket.destroy();
    }
  });

  it('a body sent too slowly: 408 and disconnected after requestTimeout, with no stack trace printed', async () => {
    // Koa's default app.onerror prints the cut-off body's error with its stack to stderr.
    const printed: unknown[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => { printed.push(args.join(' ')); };
    const c = await open();
    const body = 'grant_type=client_credentials&client_id=nobody&scope=a'.padEnd(200, 'x');
    c.socket.write(`POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`);
    const stop = trickle(c.socket, body, 100);
    try {
      const after = await c.closed(6000);
      expect(after).toBeGreaterThanOrEqual(1900);
      expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(printed.filter((line) => String(line).includes('Request timeout') || String(line).includes('    at '))).toEqual([]);
    } finally {
      console.error = consoleError;
      stop();
      c.socket.destroy();
    }
  });

  it('headers larger than maxHeaderSize: 431 and disconnected; a request under it is served', async () => {
    const big = await open();
    big.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(4096)}\r\n\r\n`);
    await big.closed(3000);
    expect(big.received()).toMatch(/^HTTP\/1\.1 431/);

    const fine = await fetch(`${baton.url}/healthz`, { headers: { 'x-fits': 'f'.repeat(1024) } });
    expect(fine.status).toBe(200);
  });

  it('an idle keep-alive connection stays usable past headersTimeout, and is closed after keepAliveTimeout', async () => {
    const c = await open();
    const request = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    c.socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    c.socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(c.received().match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    const after = await c.closed(6000);
    expect(after).toBeGreaterThanOrEqual(1500 + 2900);
    c.socket.destroy();
  });

  it('a headersTimeout longer than requestTimeout is a configuration error naming the path', () => {
    const load = () => validateConfig({
      issuer: 'http://localhost:4000', keys: { masterSecret: TEST_MASTER_SECRET }, storage: { type: 'memory' },
      server: { headersTimeout: '1m', requestTimeout: '30s' },
    }, 'test config', { env: {} });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/server\.headersTimeout: headersTimeout must not be longer than requestTimeout/);
  });
});
