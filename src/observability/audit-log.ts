// The audit log: every Baton event as one JSON line (`time`, `type`, then the event's fields) on
// stdout or appended to a file. Events carry only TokenRefs, never tokens, codes or secrets.
import { openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { pino } from 'pino';

import type { AuditConfig } from '../config/observability.ts';
import { privateDirectory } from '../storage/data-files.ts';
import type { BatonEvent, Subscriber } from './events.ts';

export interface AuditLog {
  readonly record: Subscriber;
  /** Writes what is buffered (tests, shutdown). */
  flush(): void;
  close(): void;
}

/** The configured audit log, or undefined when `audit.output` is `off`. Relative files resolve from `baseDir`. */
export function openAuditLog(config: AuditConfig, baseDir: string, now: () => number = Date.now): AuditLog | undefined {
  if (config.output === 'off') return undefined;
  let dest = 1;
  if (config.output === 'file') {
    const path = resolve(baseDir, config.file!);
    privateDirectory(dirname(path));
    // Opened here, synchronously: a file Baton cannot write stops the start, and the stream is ready at once.
    dest = openSync(path, 'a', 0o600);
  }
  // sonic-boom (pino's writer): buffered, asynchronous, appends; synchronous flush on shutdown.
  const stream = pino.destination({ dest, sync: false });
  let closed = false;
  return {
    record(event: BatonEvent) {
      if (!closed) stream.write(`${JSON.stringify({ time: new Date(now()).toISOString(), ...event })}\n`);
    },
    flush() {
      if (!closed) stream.flushSync();
    },
    close() {
      if (closed) return;
      closed = true;
      stream.flushSync();
      if (dest !== 1) stream.end();
    },
  };
}
