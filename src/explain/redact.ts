// Claim values traces never hold (`explain.redactClaims`): the name stays, the value becomes a
// keyed digest (HMAC-SHA256 under a key derived from the master secret), so `baton replay` still
// sees a value change without anyone reading the value, and no dictionary of values can be built
// without the master secret.
import { createHmac } from 'node:crypto';

import type { Redacted } from './trace.ts';

/** Returns the value to record for claim `name`: itself, or a `Redacted`. */
export type Redactor = (name: string, value: unknown) => unknown;

export const keepAll: Redactor = (_name, value) => value;

export function createRedactor(names: readonly string[], key: Buffer): Redactor {
  if (names.length === 0) return keepAll;
  const hidden = new Set(names);
  return (name, value) => (hidden.has(name) ? redacted(key, value) : value);
}

export function redacted(key: Buffer, value: unknown): Redacted {
  const digest = createHmac('sha256', key).update(JSON.stringify(value) ?? 'undefined').digest('base64url').slice(0, 16);
  return { redacted: true, digest };
}

/** Every property of `values` through `redact`. */
export function redactAll(values: Readonly<Record<string, unknown>>, redact: Redactor): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, redact(name, value)]));
}
