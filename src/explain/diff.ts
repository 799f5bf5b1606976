// What changed between a recorded decision and the same inputs decided again (`baton replay`):
// a refusal appearing or disappearing, scopes gained or lost per resource, claims changed per token.
// Per-token claims (trace.ts PER_TOKEN_CLAIMS) and redacted values are never compared.
import { isDeepStrictEqual } from 'node:util';

import { PER_TOKEN_CLAIMS, type ClaimOrigin, type DecisionTrace, type Redacted } from './trace.ts';

export type Change =
  | { readonly kind: 'refusal-appears'; readonly error: string; readonly description?: string; readonly by?: string }
  | { readonly kind: 'refusal-disappears'; readonly error: string }
  | { readonly kind: 'refusal-changes'; readonly from: string; readonly to: string }
  | { readonly kind: 'scopes'; readonly resource: string; readonly gained: readonly string[]; readonly lost: readonly string[] }
  | { readonly kind: 'claim'; readonly token: string; readonly claim: string; readonly from?: unknown; readonly to?: unknown; readonly by?: string };

/**
 * `tokens: false` compares the outcome only: a sign-in at the authorization endpoint issues no
 * token, so its replay (a sign-in, then a code redemption) has tokens it never had.
 */
export function diffTraces(recorded: DecisionTrace, replayed: DecisionTrace, options: { tokens: boolean } = { tokens: true }): Change[] {
  const was = recorded.result;
  const now = replayed.result;
  if (was.outcome === 'issued' && now.outcome === 'refused') {
    return [{ kind: 'refusal-appears', error: now.error ?? 'refused', ...(now.description ? { description: now.description } : {}), ...(now.refusedBy ? { by: now.refusedBy } : {}) }];
  }
  if (was.outcome === 'refused' && now.outcome === 'issued') return [{ kind: 'refusal-disappears', error: was.error ?? 'refused' }];
  if (was.outcome === 'refused' && now.outcome === 'refused') {
    return was.error === now.error ? [] : [{ kind: 'refusal-changes', from: was.error ?? 'refused', to: now.error ?? 'refused' }];
  }
  if (!options.tokens) return [];
  return [...scopeChanges(recorded, replayed), ...claimChanges(was.claims, now.claims)];
}

/** Scopes granted per resource: the access token's `scope` claim (what the token had), else the verdicts. */
function grantedScopes(trace: DecisionTrace): Map<string, Set<string>> {
  const accessClaims = trace.result.claims.filter((c) => c.token === 'access_token' && c.resource !== undefined);
  const granted = new Map<string, Set<string>>();
  for (const resource of new Set([...trace.request.resources, ...accessClaims.map((c) => c.resource!)])) {
    const claims = accessClaims.filter((c) => c.resource === resource);
    const scope = claims.find((c) => c.claim === 'scope')?.value;
    granted.set(resource, new Set(claims.length > 0
      ? (typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [])
      : trace.result.scopes.filter((v) => v.resource === resource && v.granted).map((v) => v.scope)));
  }
  return granted;
}

function scopeChanges(recorded: DecisionTrace, replayed: DecisionTrace): Change[] {
  const was = grantedScopes(recorded);
  const now = grantedScopes(replayed);
  const changes: Change[] = [];
  for (const resource of new Set([...was.keys(), ...now.keys()])) {
    const before = was.get(resource) ?? new Set<string>();
    const after = now.get(resource) ?? new Set<string>();
    const gained = [...after].filter((s) => !before.has(s));
    const lost = [...before].filter((s) => !after.has(s));
    if (gained.length > 0 || lost.length > 0) changes.push({ kind: 'scopes', resource, gained, lost });
  }
  return changes;
}

function tokenName(origin: ClaimOrigin): string {
  return origin.resource ? `${origin.token} ${origin.resource}` : origin.token;
}

function isRedacted(value: unknown): value is Redacted {
  return typeof value === 'object' && value !== null && (value as Partial<Redacted>).redacted === true;
}

function claimChanges(was: readonly ClaimOrigin[], now: readonly ClaimOrigin[]): Change[] {
  const key = (o: ClaimOrigin) => `${tokenName(o)}\u0000${o.claim}`;
  const before = new Map(was.filter((o) => !PER_TOKEN_CLAIMS.has(o.claim) && o.claim !== 'scope').map((o) => [key(o), o]));
  const after = new Map(now.filter((o) => !PER_TOKEN_CLAIMS.has(o.claim) && o.claim !== 'scope').map((o) => [key(o), o]));
  const changes: Change[] = [];
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(k);
    const next = after.get(k);
    const origin = (next ?? old)!;
    if (isRedacted(old?.value)) continue;
    if (old && next && isDeepStrictEqual(old.value, next.value)) continue;
    changes.push({
      kind: 'claim', token: tokenName(origin), claim: origin.claim,
      ...(old ? { from: old.value } : {}), ...(next ? { to: next.value, by: next.by } : {}),
    });
  }
  return changes;
}

/** One line per change, for the text output. */
export function describeChange(change: Change): string {
  switch (change.kind) {
    case 'refusal-appears': return `refusal appears: ${change.error}${change.description ? `: ${change.description}` : ''}${change.by ? ` (by ${change.by})` : ''}`;
    case 'refusal-disappears': return `refusal disappears: was ${change.error}, now issued`;
    case 'refusal-changes': return `refusal changes: ${change.from} -> ${change.to}`;
    case 'scopes': return [
      ...(change.lost.length > 0 ? [`scopes lost at ${change.resource}: ${change.lost.join(' ')}`] : []),
      ...(change.gained.length > 0 ? [`scopes gained at ${change.resource}: ${change.gained.join(' ')}`] : []),
    ].join('\n');
    case 'claim': return `claim ${change.claim} (${change.token}): ${show(change.from)} -> ${show(change.to)}${change.by && 'to' in change ? ` (by ${change.by})` : ''}`;
  }
}

function show(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}
