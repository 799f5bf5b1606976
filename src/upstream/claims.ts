// Maps upstream claims to Baton's and derives the stable subject. Values are checked for the
// shapes Baton emits, so an upstream cannot slip an object into `email`.
import { UpstreamError } from './connector.ts';

export function mapClaims(source: Readonly<Record<string, unknown>>, mapping: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [target, from] of Object.entries(mapping)) {
    const value = source[from];
    if (value === undefined || value === null) continue;
    if (target === 'email_verified') {
      if (typeof value === 'boolean') out[target] = value;
      else if (value === 'true' || value === 'false') out[target] = value === 'true';
      continue;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[target] = value;
  }
  return out;
}

/** Joins the configured subject claims; every one must be a non-empty string or a number. */
export function stableSubject(source: Readonly<Record<string, unknown>>, claims: readonly string[]): string {
  const parts = claims.map((name) => {
    const value = source[name];
    if ((typeof value === 'string' && value !== '') || typeof value === 'number') return String(value);
    throw new UpstreamError('invalid_response', `the upstream identity has no ${name} claim`);
  });
  return parts.join(':');
}
