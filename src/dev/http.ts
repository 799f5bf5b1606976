// Small HTTP helpers shared by the demo's servers (IdP, authorizer, API, app): JSON in and out,
// and listening with a clear error when a port is taken.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** A port the demo needs is taken; `flag` is the command-line option that changes it. */
export class PortInUseError extends Error {
  constructor(readonly port: number, readonly role: string, readonly flag: string) {
    super(`port ${port} (${role}) is already in use`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

export function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(html);
}

export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Serves `handler` on 127.0.0.1:`port`; an error in it answers 500 without detail (logged by `onError`). */
export async function listen(handler: Handler, port: number, role: string, flag: string, onError: (err: unknown) => void): Promise<Server> {
  const server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      onError(err);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new PortInUseError(port, role, flag) : err));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
