// pino JSON logs. Redaction is a safety net: handlers never pass tokens, secrets or codes to the
// logger in the first place, and request logs carry the path without its query string.
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

const CENSORED_KEYS = [
  'authorization', 'cookie', 'client_secret', 'client_assertion', 'password', 'secret', 'masterSecret',
  'access_token', 'refresh_token', 'id_token', 'code_verifier', 'token', 'subject_token', 'actor_token',
  'assertion', 'privateKey',
];

/** fast-redact paths: each sensitive key at the top level and one or two levels down. */
export const REDACT_PATHS = [
  ...CENSORED_KEYS,
  ...CENSORED_KEYS.map((k) => `*.${k}`),
  ...CENSORED_KEYS.map((k) => `*.*.${k}`),
  // `code` alone is too common (error codes) to censor everywhere: only where it is an OAuth code.
  'params.code', 'body.code', 'query.code',
  'headers["set-cookie"]', '*.headers["set-cookie"]',
];

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'baton' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * The access log: one line per request with a fixed set of fields that never hold secrets
 * (request id, method, path without query, status, duration, address), so it skips redaction,
 * whose wildcard walk would otherwise dominate the cost of every request.
 */
export function createAccessLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'baton' },
      formatters: { level: (label) => ({ level: label }) },
    },
    // Buffered: one write per ~4 KiB of lines instead of a syscall per request; the server flushes
    // it every second and on close. A crash loses at most that buffer of access lines, never an
    // error line (those go through the unbuffered logger).
    destination ?? pino.destination({ dest: 1, sync: true, minLength: 4096 }),
  );
}
