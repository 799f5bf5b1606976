// What a hook may return, checked and copied before Baton uses it: JSON values only, the result union
// of each hook, claims within the bounds of reserved-claims.ts and reserved claims removed from them.
// Also deep-freezing of what hooks receive.
import { RESERVED_CLAIMS as RESERVED_BY_TARGET, claimsProblem, type ClaimsTarget } from '../reserved-claims.ts';
import type { AuthenticateResult, HookName, JsonObject, JsonValue } from './types.ts';

/** Claims a hook can never set in any token or response: Baton (and oidc-provider) own them. */
export const RESERVED_CLAIMS: readonly string[] = [...RESERVED_BY_TARGET.userinfo];

/** Also reserved in id_tokens (and access tokens): sign-in and protocol claims a client validates. */
export const RESERVED_ID_TOKEN_CLAIMS: readonly string[] = [...RESERVED_BY_TARGET.id_token].filter((name) => !RESERVED_BY_TARGET.userinfo.has(name));

/** A refusal reason is shown to people; bounded so a hook cannot flood a page or a redirect. */
const MAX_REASON = 512;
const MAX_DEPTH = 32;

/** A result that is not what the hook must return. The message names paths and types, never values. */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

/** `isAuthorized`, normalised. */
export type AuthorizationDecision = { readonly allow: true } | { readonly allow: false; readonly reason?: string };

/** A checked `authenticateBackchannel` result. */
export type BackchannelOutcome = { readonly sub: string; readonly claims: JsonObject } | { readonly deny: string; readonly sub?: string };

/** Copies a JSON value, refusing anything JSON cannot carry as is; `undefined` object members are dropped. */
export function toJson(value: unknown, path = 'result', depth = 0, seen: Set<object> = new Set()): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ShapeError(`${path}: ${value} is not a JSON number`);
    return value;
  }
  if (typeof value !== 'object') throw new ShapeError(`${path}: ${typeof value} is not a JSON value`);
  if (depth >= MAX_DEPTH) throw new ShapeError(`${path}: nested deeper than ${MAX_DEPTH} levels`);
  if (seen.has(value)) throw new ShapeError(`${path}: circular reference`);
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item, i) => {
        if (item === undefined) throw new ShapeError(`${path}[${i}]: undefined is not a JSON value`);
        return toJson(item, `${path}[${i}]`, depth + 1, seen);
      });
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new ShapeError(`${path}: ${describe(value)} is not a plain object (JSON values only)`);
    }
    const out: JsonObject = {};
    for (const [key, member] of Object.entries(value)) {
      if (key === '__proto__') throw new ShapeError(`${path}: the key "__proto__" is not allowed`);
      if (member !== undefined) out[key] = toJson(member, `${path}.${key}`, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** A JSON object (claims, attributes). */
export function toJsonObject(value: unknown, path = 'result'): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ShapeError(`${path}: must be an object, got ${describe(value)}`);
  }
  return toJson(value, path) as JsonObject;
}

/** Claims a token will carry: a JSON object without object-prototype keys, within the size and depth bounds. */
export function toClaims(value: unknown, path = 'result'): JsonObject {
  const claims = toJsonObject(value, path);
  const problem = claimsProblem(claims, path);
  if (problem !== undefined) throw new ShapeError(problem);
  return claims;
}

/** Removes reserved claims from a claims object; returns the names it removed. */
export function dropReserved(claims: JsonObject, reserved: ReadonlySet<string>): string[] {
  const dropped = [...reserved].filter((name) => Object.hasOwn(claims, name));
  for (const name of dropped) delete claims[name];
  return dropped;
}

/** Where each claims-building hook's claims go (the backchannel's claims are the account's, as in userinfo). */
const TARGETS: Partial<Record<HookName, ClaimsTarget>> = {
  buildIDTokenClaims: 'id_token', buildAccessTokenClaims: 'access_token', buildUserInfoClaims: 'userinfo', authenticateBackchannel: 'userinfo',
};

/** The reserved claims for a claims-building hook: the list of the token type its claims go to. */
export function reservedFor(hook: HookName): ReadonlySet<string> {
  return RESERVED_BY_TARGET[TARGETS[hook] ?? 'access_token'];
}

export function checkBoolean(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ShapeError(`result: must be true or false, got ${describe(value)}`);
  return value;
}

export function checkAuthenticate(value: unknown): AuthenticateResult | undefined {
  if (value === undefined || value === null) return undefined;
  const obj = exactObject(value, [['upstream'], ['deny']], '{ upstream } or { deny } or undefined');
  return 'upstream' in obj ? { upstream: text(obj.upstream, 'result.upstream', 200) } : { deny: text(obj.deny, 'result.deny', MAX_REASON) };
}

export function checkBackchannel(value: unknown): BackchannelOutcome {
  const obj = exactObject(value, [['sub'], ['sub', 'claims'], ['deny'], ['deny', 'sub']], '{ sub, claims? } or { deny, sub? }');
  if ('deny' in obj) return { deny: text(obj.deny, 'result.deny', MAX_REASON), ...(obj.sub === undefined ? {} : { sub: text(obj.sub, 'result.sub', 255) }) };
  const sub = text(obj.sub, 'result.sub', 255);
  return { sub, claims: obj.claims === undefined ? {} : toClaims(obj.claims, 'result.claims') };
}

export function checkAuthorized(value: unknown): AuthorizationDecision {
  if (typeof value === 'boolean') return value ? { allow: true } : { allow: false };
  const obj = exactObject(value, [['allow'], ['allow', 'reason']], 'true, false, { allow: false, reason } or { allow: true }');
  if (typeof obj.allow !== 'boolean') throw new ShapeError(`result.allow: must be true or false, got ${describe(obj.allow)}`);
  if (obj.allow && obj.reason === undefined) return { allow: true };
  if (obj.allow !== false) throw new ShapeError('result.allow: must be false when a reason is given');
  return obj.reason === undefined ? { allow: false } : { allow: false, reason: text(obj.reason, 'result.reason', MAX_REASON) };
}

export function checkAttrs(value: unknown): JsonObject {
  return value === undefined || value === null ? {} : toJsonObject(value);
}

/** Deep-freezes a structured clone of `value` (the caller's objects are left alone). */
export function frozenCopy<T>(value: T): T {
  return deepFreeze(structuredClone(value));
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/** A short type description for messages (never the value itself). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return typeof value;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

function exactObject(value: unknown, shapes: string[][], expected: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ShapeError(`result: must be ${expected}, got ${describe(value)}`);
  }
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  if (!shapes.some((shape) => shape.length === keys.length && [...shape].sort().every((k, i) => k === keys[i]))) {
    throw new ShapeError(`result: must be ${expected}, got an object with keys [${keys.join(', ')}]`);
  }
  return value as Record<string, unknown>;
}

function text(value: unknown, path: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ShapeError(`${path}: must be a non-empty string, got ${describe(value)}`);
  if (value.length > max) throw new ShapeError(`${path}: longer than ${max} characters`);
  return value;
}
