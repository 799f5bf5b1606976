// Maps upstream claims to Baton's and derives the stable subject. Values are checked for the
// shapes Baton emits (strings, numbers, booleans, bounded lists of strings such as `groups`), so an
// upstream cannot slip an object into `email`.
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
    else if (isStringList(value)) out[target] = [...value];
  }
  return out;
}

/** Lists of strings (`groups`, `roles`) are copied, within bounds; any other array or object is not. */
const MAX_LIST_ENTRIES = 500;
const MAX_ENTRY_LENGTH = 1024;

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_LIST_ENTRIES && value.every((entry) => typeof entry === 'string' && entry.length <= MAX_ENTRY_LENGTH);
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
