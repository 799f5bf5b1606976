// The claims Baton alone sets, one list per token type (JWT registered claims, RFC 9068 section 2.2,
// OIDC Core sections 2 and 5.3), and the bounds every claim set added by a hook or an authorizer
// keeps: JSON values only, no object-prototype keys, bounded depth, count and size.

/** Where added claims end up. */
export type ClaimsTarget = 'access_token' | 'id_token' | 'userinfo';

/** JWT registered claims (RFC 7519 section 4.1) and Baton's own token semantics. */
const BATON = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'client_id', 'scope', 'cnf', 'act'] as const;
/** How and when the user signed in, and what binds an id_token to its request and tokens. */
const SIGN_IN = ['auth_time', 'acr', 'amr', 'sid', 'azp', 'nonce', 'at_hash', 'c_hash', 's_hash'] as const;

/** Claims no hook and no authorizer may set, per token type. A claims hook has them removed; an authorizer answer setting one is invalid. */
export const RESERVED_CLAIMS: Readonly<Record<ClaimsTarget, ReadonlySet<string>>> = {
  access_token: new Set([...BATON, ...SIGN_IN, 'authorization_details']),
  id_token: new Set([...BATON, ...SIGN_IN]),
  userinfo: new Set(BATON),
};

/**
 * Top-level claims an authorizer may never set in an access token (with `claimsNamespace: ""`), nor
 * use as its claims namespace: the reserved ones, and `may_act` (RFC 8693 section 4.4), which
 * hands delegation rights over the subject to someone else: the client's own hooks may add it, a
 * service owning one scope namespace may not.
 */
export const AUTHORIZER_RESERVED_CLAIMS: ReadonlySet<string> = new Set([...RESERVED_CLAIMS.access_token, 'may_act']);

/** Keys that name Object.prototype machinery: refused at any depth (prototype pollution, `obj.constructor` lookups). */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Bounds of one claim set: deeper, larger or busier is no claim a token should carry. */
export const CLAIMS_LIMITS = { depth: 32, members: 1000, bytes: 64 * 1024 } as const;

/**
 * What is wrong with a claim set added to a token, as `path: message` (never a value), or
 * undefined when it is a plain JSON object within the bounds and without unsafe keys. Iterative up
 * to the depth bound, so a hostile nesting cannot exhaust the stack.
 */
export function claimsProblem(claims: unknown, path = 'claims'): string | undefined {
  if (!isPlainObject(claims)) return `${path}: must be a JSON object`;
  let members = 0;
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{ value: claims, path, depth: 0 }];
  while (pending.length > 0) {
    const { value, path: at, depth } = pending.pop()!;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return `${at}: not a JSON number`;
      continue;
    }
    if (typeof value !== 'object') return `${at}: ${typeof value} is not a JSON value`;
    if (depth >= CLAIMS_LIMITS.depth) return `${at}: nested deeper than ${CLAIMS_LIMITS.depth} levels`;
    if (Array.isArray(value)) {
      members += value.length;
      value.forEach((item, i) => pending.push({ value: item, path: `${at}[${i}]`, depth: depth + 1 }));
    } else {
      if (!isPlainObject(value)) return `${at}: not a plain JSON object`;
      for (const key of Object.keys(value)) {
        if (UNSAFE_KEYS.has(key)) return `${at}: the key "${key}" is not allowed`;
        members += 1;
        pending.push({ value: value[key], path: `${at}.${key}`, depth: depth + 1 });
      }
    }
    if (members > CLAIMS_LIMITS.members) return `${path}: more than ${CLAIMS_LIMITS.members} members`;
  }
  if (Buffer.byteLength(JSON.stringify(claims)) > CLAIMS_LIMITS.bytes) return `${path}: larger than ${CLAIMS_LIMITS.bytes} bytes`;
  return undefined;
}

/** The reserved claims present at the top level of `claims`. */
export function reservedIn(claims: Readonly<Record<string, unknown>>, reserved: ReadonlySet<string>): string[] {
  return Object.keys(claims).filter((name) => reserved.has(name));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
