// Log redaction in one pass: the sensitive keys of logger.ts censored at the top level and one or
// two levels down (what pino's wildcard paths `k`, `*.k`, `*.*.k` did), copying only the objects
// that change. pino's path-based redactor walked every wildcard path for every field of every line.

/** Censored wherever they appear within the first three levels of a log record. */
export const CENSORED_KEYS: ReadonlySet<string> = new Set([
  'authorization', 'cookie', 'client_secret', 'client_assertion', 'password', 'secret', 'masterSecret',
  'access_token', 'refresh_token', 'id_token', 'code_verifier', 'token', 'subject_token', 'actor_token',
  'assertion', 'privateKey',
]);

/** `code` alone is too common (error codes) to censor everywhere: only where it is an OAuth code. */
const CODE_PARENTS: ReadonlySet<string> = new Set(['params', 'body', 'query']);

const MAX_DEPTH = 3;

/**
 * A copy of `record` with every sensitive value replaced by `censor` (the record itself when there
 * is none; the caller's objects are never modified): a CENSORED_KEYS key at depth 1 to 3,
 * `params.code`, `body.code`, `query.code`, and `set-cookie` in `headers` at depth 1 or 2.
 * Arrays count as objects (their elements are one level down). A sensitive key present below the
 * top level is censored even when its value is undefined, as pino's redactor did. `skip` names top-level keys left
 * as they are (pino's error serializer redacts `err` after serializing it).
 */
export function redact<T extends object>(record: T, censor: string, skip?: string): T {
  return walk(record, 1, undefined, censor, skip) as T;
}

/** One top-level field of a record, redacted as `redact` would (for a value serialized later, like `err`). */
export function redactField(key: string, value: unknown, censor: string): unknown {
  if (value === undefined) return value;
  if (CENSORED_KEYS.has(key)) return censor;
  return typeof value === 'object' && value !== null ? walk(value, 2, key, censor) : value;
}

function walk(value: object, depth: number, parentKey: string | undefined, censor: string, skip?: string): object {
  let copy: Record<string, unknown> | unknown[] | undefined;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    if (depth === 1 && key === skip) continue;
    const child = source[key];
    if (child === undefined && depth === 1) continue; // not written (pino skips it too)
    let next = child;
    if (CENSORED_KEYS.has(key) || sensitiveBelow(parentKey, key, depth)) {
      next = censor;
    } else if (depth < MAX_DEPTH && typeof child === 'object' && child !== null) {
      next = walk(child, depth + 1, key, censor);
    }
    if (next !== child) {
      copy ??= Array.isArray(value) ? [...(value as unknown[])] : { ...source };
      (copy as Record<string, unknown>)[key] = next;
    }
  }
  return copy ?? value;
}

function sensitiveBelow(parentKey: string | undefined, key: string, depth: number): boolean {
  if (parentKey === undefined) return false;
  if (key === 'code') return depth === 2 && CODE_PARENTS.has(parentKey);
  return key === 'set-cookie' && parentKey === 'headers' && depth <= 3;
}
