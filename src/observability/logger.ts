// pino JSON logs. Redaction is a safety net: handlers never pass tokens, secrets or codes to the
// logger in the first place, and request logs carry the path without its query string.
import { pino, stdSerializers, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

import { CENSORED_KEYS, redact, redactField } from './redact.ts';

export type { Logger };

const CENSOR = '[redacted]';

/**
 * What createLogger redacts, as pino redact paths (each sensitive key at the top level and one or
 * two levels down): redact.ts censors exactly these in one pass; tests compare the two.
 */
export const REDACT_PATHS = [
  ...CENSORED_KEYS,
  ...[...CENSORED_KEYS].map((k) => `*.${k}`),
  ...[...CENSORED_KEYS].map((k) => `*.*.${k}`),
  // `code` alone is too common (error codes) to censor everywhere: only where it is an OAuth code.
  'params.code', 'body.code', 'query.code',
  'headers["set-cookie"]', '*.headers["set-cookie"]',
];

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  const logger = pino(
    {
      level,
      base: { service: 'baton' },
      // REDACT_PATHS in one pass (redact.ts): every record and child binding; `err` after pino's
      // error serializer has turned it into a plain record.
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redact(bindings, CENSOR),
        log: (record) => redact(record, CENSOR, 'err'),
      },
      serializers: { err: (err: unknown) => redactField('err', stdSerializers.err(err as Error), CENSOR) },
    },
    destination,
  );
  // pino applies no formatter to child bindings: they are censored on the way in (children of
  // children inherit this `child` through their prototype).
  const child = logger.child;
  Object.defineProperty(logger, 'child', {
    value: function redactedChild(this: Logger, bindings: Parameters<Logger['child']>[0], options?: Parameters<Logger['child']>[1]) {
      return child.call(this, redact(bindings, CENSOR), options);
    },
  });
  return logger;
}

/**
 * The access log: one line per request with a fixed set of fields that never hold secrets
 * (request id, method, path without query, status, duration, address), and the other per-request
 * info lines built field by field from identifiers (`token exchanged`, `authorizer.decision` and
 * `authorizer.shadow`, `hook ran`), so it skips redaction, whose wildcard walk would otherwise
 * dominate the cost of every request. A line that could hold a secret goes to the main logger.
 */
export function createAccessLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'baton' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? bufferedStdout(),
  );
}

type Buffered = ReturnType<typeof pino.destination>;

/**
 * Standard output in ~4 KiB writes instead of a syscall per request: the server flushes it every
 * second and on close, and the process's 'exit' writes what is left (an uncaught exception and
 * `process.exit` run 'exit' handlers). What skips 'exit' still loses up to a second of lines: a
 * kill (SIGKILL, the out-of-memory killer), V8's own out-of-memory abort, `process.abort()`, a
 * native crash, and a signal nothing handles (main.ts handles SIGTERM and SIGINT with close()).
 * Error lines go through the unbuffered logger and are never held back.
 */
function bufferedStdout(): Buffered {
  const stream = pino.destination({ dest: 1, sync: true, minLength: 4096 });
  writeOutAtExit(stream);
  return stream;
}

/** The buffered destinations written out on 'exit', held weakly: a collected logger's buffer is not kept alive. */
const atExit = new Set<WeakRef<Buffered>>();
const collected = new FinalizationRegistry<WeakRef<Buffered>>((ref) => atExit.delete(ref));
let exitListening = false;

function writeOutAtExit(stream: Buffered): void {
  const ref = new WeakRef(stream);
  atExit.add(ref);
  collected.register(stream, ref);
  if (exitListening) return;
  exitListening = true;
  process.once('exit', () => {
    for (const held of atExit) {
      try {
        // flush(), not flushSync(): with `sync: true` it writes synchronously too, and a reader that
        // went away (EPIPE) ends it (pino stops writing to that stream) where flushSync() would retry forever.
        held.deref()?.flush();
      } catch {
        // Closed or failing while the process exits: nothing is left to write to.
      }
    }
  });
}
