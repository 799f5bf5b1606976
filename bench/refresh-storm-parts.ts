// The authorizer bench/refresh-storm.ts talks to, on 127.0.0.1: it owns `orders:` and the runner
// scripts its outage.
import { createServer, type Server } from 'node:http';

export const NAMESPACE = 'orders:';

export interface BenchAuthorizer {
  readonly url: string;
  /** While true, every decision request answers 503 (the scripted outage). */
  down: boolean;
  readonly calls: { ok: number; refused: number };
  close(): Promise<void>;
}

/** Grants every requested scope of its namespace. A benchmark stand-in: it does not verify Baton's request JWT. */
export async function startAuthorizer(port: number): Promise<BenchAuthorizer> {
  const state = { down: false, calls: { ok: 0, refused: 0 } };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      if (state.down) {
        state.calls.refused += 1;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
        return;
      }
      state.calls.ok += 1;
      const scopes = ((JSON.parse(body) as { scopes?: string[] }).scopes ?? []).filter((s) => s.startsWith(NAMESPACE));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: 'grant', scopes }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/decide`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  });
}
