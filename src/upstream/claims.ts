// Maps upstream claims to Baton's and derives the stable subject. Values are checked for the
// shapes Baton emits (strings, numbers, booleans, bounded lists of strings such as `groups`, and
// OIDC Core's `address` object of strings), so an upstream cannot slip an object into `email`.
import { UpstreamError } from './connector.ts';

export function mapClaims(source: Readonly<Record<string, unknown>>, mapping: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [target, from] of Object.entries(mapping)) {
    const value = source[from];
    if (value === undefined || value === null) continue;
    if (target === 'email_verified' || target === 'phone_number_verified') {
      if (typeof value === 'boolean') out[target] = value;
      else if (value === 'true' || value === 'false') out[target] = value === 'true';
      continue;
    }
    if (target === 'address') {
      const address = addressClaim(value);
      if (address) out[target] = address;
      continue;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[target] = value;
    else if (isStringList(value)) out[target] = [...value];
  }
  return out;
}

/** OIDC Core section 5.1.1: the address members, each a string; any other member is dropped. */
const ADDRESS_MEMBERS = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'] as const;
const MAX_ADDRESS_MEMBER_LENGTH = 1024;

/** The upstream's `address` as OIDC Core's JSON object, or undefined when it has no string member. */
function addressClaim(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const members = Object.fromEntries(ADDRESS_MEMBERS.flatMap((name) => {
    const member = (value as Record<string, unknown>)[name];
    return typeof member === 'string' && member.length <= MAX_ADDRESS_MEMBER_LENGTH ? [[name, member]] : [];
  }));
  return Object.keys(members).length > 0 ? members : undefined;
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
