// The lean token path and the full Koa pipeline of one Baton, side by side: a second listener runs
// the provider's own callback (same keys, clients, store), and a raw POST whose answer keeps the
// headers in the order they were sent (what the lean path must reproduce).
import { createServer, request } from 'node:http';

import type { RunningBaton } from './baton.ts';

export interface Answer { status: number; headers: Array<[string, string]>; body: string }

/** A form POST to 127.0.0.1:`port`, answered with status, headers in order (without date and connection ones) and body. */
export function sendForm(port: number, body: string, headers: Record<string, string>, path = '/token'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode!, headers: pairs.filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name.toLowerCase())), body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The full pipeline of `baton`'s provider on a second listener (a free port), and how to close it. */
export async function fullPipeline(baton: RunningBaton): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => baton.baton.provider.callback()(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
