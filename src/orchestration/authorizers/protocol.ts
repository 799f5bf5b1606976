// The wire format between Baton and an authorizer: the JSON body Baton POSTs, a bounded read of
// the answer, and the strict check that turns the answer into a Decision (or an invalid answer).
import { merged } from '../../lang/merged.ts';
import { AUTHORIZER_RESERVED_CLAIMS, claimsProblem, reservedIn } from '../reserved-claims.ts';
import type { RawAnswer } from './transport.ts';
import { AuthorizerFailure, type Decision, type DecisionRequest } from './types.ts';

/** Answers larger than this are invalid (a decision is a few hundred bytes). */
export const MAX_ANSWER_BYTES = 256 * 1024;
const MAX_REASON_CHARS = 200;

/** The request body: the decision request with only the scopes of the authorizer's namespace. */
export function requestBody(request: DecisionRequest, scopes: readonly string[]): Record<string, unknown> {
  return merged(membersBefore(request), { scopes, ...membersAfter(request) });
}

/**
 * The request bodies of one decision, one per authorizer, byte for byte
 * `JSON.stringify(requestBody(request, scopes))`: everything but the scopes is serialized once per
 * decision (the claims are the bulk), not once per authorizer.
 */
export function requestBodies(request: DecisionRequest): (scopes: readonly string[]) => string {
  // `{"subject":...,` + `"scopes":[...]` + `,"upstream":...}`, a comma only between members; worked
  // out at the first call (a decision answered from the cache sends nothing).
  let head: string | undefined;
  let tail = '';
  return (scopes) => {
    if (head === undefined) {
      const before = JSON.stringify(membersBefore(request)).slice(0, -1);
      const after = JSON.stringify(membersAfter(request)).slice(1);
      head = `${before === '{' ? before : `${before},`}"scopes":`;
      tail = after === '}' ? after : `,${after}`;
    }
    return head + JSON.stringify(scopes) + tail;
  };
}

/** The members before `scopes`, in wire order (an undefined one is left out by JSON.stringify). */
function membersBefore(request: DecisionRequest) {
  return { subject: request.subject, client_id: request.clientId, grant_type: request.grantType, resource: request.resource };
}

/** The members after `scopes`, in wire order. */
function membersAfter({ upstream, claims }: DecisionRequest) {
  return { upstream: upstream && { idp: upstream.idp, acr: upstream.acr, amr: upstream.amr, auth_time: upstream.authTime }, claims };
}

/** Reads at most `limit` bytes of UTF-8; a larger or non-UTF-8 body is an invalid answer. */
export async function readBounded(answer: RawAnswer, limit = MAX_ANSWER_BYTES): Promise<string> {
  if (answer.contentLength !== undefined && answer.contentLength > limit) throw await tooLarge(answer, limit);
  let chunks: readonly Uint8Array[];
  if (Array.isArray(answer.body)) {
    // Already buffered by the transport (bounded there too): no await per chunk.
    chunks = answer.body as readonly Uint8Array[];
    if (chunks.reduce((size, chunk) => size + chunk.byteLength, 0) > limit) throw await tooLarge(answer, limit);
  } else {
    const read: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of answer.body) {
      size += chunk.byteLength;
      if (size > limit) throw await tooLarge(answer, limit);
      read.push(chunk);
    }
    chunks = read;
  }
  try {
    return UTF8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks as Uint8Array[]));
  } catch {
    throw new AuthorizerFailure('invalid answer: not UTF-8');
  }
}

async function tooLarge(answer: RawAnswer, limit: number): Promise<AuthorizerFailure> {
  await answer.discard();
  return new AuthorizerFailure(`invalid answer: larger than ${limit} bytes`);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks an answer against the scopes asked (`requested`, all in the namespace): grant keeps
 * `scopes` ∩ requested (all requested when `scopes` is omitted) and records the rest as dropped;
 * deny grants nothing and adds no claims. Anything malformed throws an AuthorizerFailure: claims
 * with object-prototype keys or beyond the bounds of reserved-claims.ts, and, when they go to the
 * top level of the token (`topLevelClaims`, for `claimsNamespace: ""`), a claim Baton reserves.
 */
export function parseAnswer(text: string, requested: readonly string[], { topLevelClaims = false } = {}): Decision {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new AuthorizerFailure('invalid answer: not JSON');
  }
  if (!isPlainObject(answer)) throw new AuthorizerFailure('invalid answer: not a JSON object');
  const { decision, scopes, claims, reason } = answer;
  if (decision !== 'grant' && decision !== 'deny') throw new AuthorizerFailure('invalid answer: "decision" must be "grant" or "deny"');
  if (scopes !== undefined && !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string'))) {
    throw new AuthorizerFailure('invalid answer: "scopes" must be an array of strings');
  }
  if (claims !== undefined && !isPlainObject(claims)) throw new AuthorizerFailure('invalid answer: "claims" must be a JSON object');
  if (claims !== undefined) {
    const problem = claimsProblem(claims);
    if (problem !== undefined) throw new AuthorizerFailure(`invalid answer: ${problem}`);
    const reserved = topLevelClaims ? reservedIn(claims, AUTHORIZER_RESERVED_CLAIMS) : [];
    if (reserved.length > 0) throw new AuthorizerFailure(`invalid answer: reserved claims ${reserved.join(', ')} (claimsNamespace "")`);
  }
  if (reason !== undefined && typeof reason !== 'string') throw new AuthorizerFailure('invalid answer: "reason" must be a string');
  const trimmedReason = reason === undefined ? undefined : reason.slice(0, MAX_REASON_CHARS);
  if (decision === 'deny') return { decision, granted: [], dropped: [], claims: {}, reason: trimmedReason };

  // Scopes omitted: all requested, nothing dropped (what the sets below would work out).
  if (scopes === undefined) return { decision, granted: [...requested], dropped: [], claims: claims ?? {}, reason: trimmedReason };
  const returned = new Set<string>(scopes);
  const asked = new Set(requested);
  return {
    decision,
    granted: requested.filter((scope) => returned.has(scope)),
    dropped: [...returned].filter((scope) => !asked.has(scope)),
    claims: claims ?? {},
    reason: trimmedReason,
  };
}
