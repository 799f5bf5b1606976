// Reading a request body within a bound, for Baton's own routes (the provider parses its own): a
// declared or actual size over the bound is refused before more is buffered, without destroying the
// request, so the answer is still the route's JSON error (RFC 9110 section 15.5.14, 413).
import type { IncomingMessage } from 'node:http';

/** The body was larger than the bound. */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
  constructor(readonly limit: number) {
    super(`the request body is larger than ${limit} bytes`);
  }
}

/**
 * The whole body, or BodyTooLarge as soon as Content-Length or the bytes received pass `limit`.
 * What is still arriving after that is read and dropped (never buffered); the caller answers with
 * `Connection: close` so the client stops sending.
 */
export function readBounded(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (settle: () => void) => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      settle();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      done(() => reject(new BodyTooLarge(limit)));
      req.resume(); // keep discarding the rest: no listener buffers it
    };
    const onEnd = () => done(() => resolve(Buffer.concat(chunks)));
    const onError = (err: Error) => done(() => reject(err));
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}
