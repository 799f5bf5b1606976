// A pino destination that keeps every JSON line written to it, for tests that check which logger a
// line went to and what it holds.
import { Writable } from 'node:stream';

export interface CapturedLines {
  readonly lines: Array<Record<string, unknown>>;
  readonly stream: Writable;
}

export function captureLines(): CapturedLines {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}
