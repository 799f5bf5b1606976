// One request's decision trace as it is recorded: what was asked, for whom, each step, every scope's
// verdict and every claim's origin (trace-context.ts carries the recorder to wherever that is decided).
import { merged } from '../lang/merged.ts';
import { keepAll, redactAll, type Redactor } from './redact.ts';
import { sameJson } from './same-json.ts';
import { claimOrigins, STORED_TRACE_VERSION, type StoredClaim, type StoredTrace } from './stored-trace.ts';
import {
  PER_TOKEN_CLAIMS, TRACE_VERSION, type ClaimOrigin, type DecisionTrace, type ScopeVerdict, type TraceActor, type TraceIdentity,
  type TraceRequest, type TraceResult, type TraceStep,
} from './trace.ts';

/** The claims recorded for one token (and resource), by name, in the order first recorded. */
interface TokenClaims {
  readonly token: ClaimOrigin['token'];
  readonly resource?: string;
  readonly claims: Map<string, StoredClaim>;
}

/** Collects one request's trace; the caller stores it (or not) when the request ends. */
export class TraceRecorder {
  readonly requestId: string;
  readonly at: number;
  /** The request id is one Baton issued for this request (not a client's or proxy's X-Request-Id): no one else can have used it. */
  readonly issuedId: boolean;
  #request: TraceRequest | undefined;
  #identity: TraceIdentity | undefined;
  readonly #steps: TraceStep[] = [];
  readonly #scopes: ScopeVerdict[] = [];
  /** Per token and resource in the order first recorded; a later origin of the same claim replaces the earlier one, in place. */
  readonly #tokens: TokenClaims[] = [];
  #refusal: { error: string; description?: string; by?: TraceActor } | undefined;
  readonly #redact: Redactor;
  /** Work that finishes after the answer (shadow authorizers): the trace is stored once it settles. */
  readonly #pending: Promise<unknown>[] = [];
  /** Handed over to be stored (`seal`): later recording is ignored. */
  #sealed = false;

  /** `redact` hides the values of `explain.redactClaims` (identity claims, attributes, token claims). */
  constructor(requestId: string, at: number, redact: Redactor = keepAll, issuedId = false) {
    this.requestId = requestId;
    this.at = at;
    this.issuedId = issuedId;
    this.#redact = redact;
  }

  /** The value to record for claim `name` (redacted per configuration). */
  redactValue(name: string, value: unknown): unknown {
    return this.#redact(name, value);
  }

  /** Ends the recording: the trace was handed over as it is now, and nothing recorded later belongs to it. */
  seal(): void {
    this.#sealed = true;
  }

  /** Keeps the trace open until `work` settles (it must never reject; a rejection is ignored). */
  wait(work: Promise<unknown>): void {
    this.#pending.push(work.catch(() => undefined));
  }

  /** Whether work the trace waits for was handed over (`wait`). */
  get waiting(): boolean {
    return this.#pending.length > 0;
  }

  /** Resolves once every `wait`ed piece of work has settled. */
  async settled(): Promise<void> {
    while (this.#pending.length > 0) await Promise.all(this.#pending.splice(0));
  }

  /** Sets (or completes) what was asked; later calls override earlier fields. */
  request(request: Partial<TraceRequest>): void {
    if (this.#sealed) return;
    // The recorder's own object, completed in place (nothing else holds it before the trace is handed over).
    Object.assign(this.#request ??= { endpoint: 'token', resources: [], scopes: [] }, request);
  }

  /** Adds a resource the request concerns (once). */
  addResource(resource: string): void {
    if (this.#sealed) return;
    const current = this.#request ?? { endpoint: 'token', resources: [], scopes: [] };
    if (!current.resources.includes(resource)) this.#request = merged(current, { resources: [...current.resources, resource] });
  }

  get hasRequest(): boolean {
    return this.#request !== undefined;
  }

  /** What was asked, as recorded so far. */
  get requested(): TraceRequest | undefined {
    return this.#request;
  }

  /** The identity the decision was made for; claims and attrs are redacted here. */
  identity(identity: TraceIdentity): void {
    if (this.#sealed) return;
    this.#identity = merged(identity, {
      claims: hasMembers(identity.claims) ? redactAll(identity.claims, this.#redact) : NO_CLAIMS,
      ...(identity.attrs ? { attrs: redactAll(identity.attrs, this.#redact) } : {}),
    });
  }

  get hasIdentity(): boolean {
    return this.#identity !== undefined;
  }

  step(step: TraceStep): void {
    if (this.#sealed) return;
    this.#steps.push(step);
  }

  /** The steps recorded so far, in order. */
  get steps(): readonly TraceStep[] {
    return this.#steps;
  }

  /** A scope's verdict; a later verdict for the same scope and resource replaces the earlier one. */
  scope(verdict: ScopeVerdict): void {
    if (this.#sealed) return;
    const at = this.#scopes.findIndex((v) => v.scope === verdict.scope && v.resource === verdict.resource);
    if (at >= 0) this.#scopes[at] = verdict;
    else this.#scopes.push(verdict);
  }

  /** Whether a verdict for this scope (and resource) was recorded. */
  hasScope(scope: string, resource?: string): boolean {
    return this.#scopes.some((v) => v.scope === scope && (resource === undefined || v.resource === resource));
  }

  /**
   * One claim of an issued token: the value is dropped for PER_TOKEN_CLAIMS and redacted per
   * configuration; a later origin for the same token, resource and claim replaces the earlier one.
   */
  claim(origin: ClaimOrigin): void {
    this.tokenClaim(origin.token, origin.resource, origin.claim, origin.by, origin.value);
  }

  /** `claim`, without an object per claim (this runs for every claim of every traced token). */
  tokenClaim(token: ClaimOrigin['token'], resource: string | undefined, claim: string, by: TraceActor, value?: unknown): void {
    if (this.#sealed) return;
    // Kept as the stored form's tuples (stored-trace.ts).
    let group: TokenClaims | undefined;
    for (let i = 0; i < this.#tokens.length; i++) {
      const candidate = this.#tokens[i]!;
      if (candidate.token === token && candidate.resource === resource) group = candidate;
    }
    if (!group) {
      group = resource === undefined ? { token, claims: new Map() } : { token, resource, claims: new Map() };
      this.#tokens.push(group);
    }
    group.claims.set(claim, value !== undefined && !PER_TOKEN_CLAIMS.has(claim) ? [claim, by, this.#redact(claim, value)] : [claim, by]);
  }

  /** The request was refused with this RFC error; the first refusal recorded wins. */
  refuse(error: string, description?: string, by?: TraceActor): void {
    if (this.#sealed) return;
    this.#refusal ??= { error, ...(description === undefined ? {} : { description }), ...(by === undefined ? {} : { by }) };
  }

  /** The error the client actually received (from the response); keeps who refused, if recorded. */
  answered(error: string, description?: string, by?: TraceActor): void {
    if (this.#sealed) return;
    const earlier = this.#refusal;
    const actor = earlier?.by ?? by;
    this.#refusal = { error, ...(description === undefined ? {} : { description }), ...(actor === undefined ? {} : { by: actor }) };
  }

  get refused(): boolean {
    return this.#refusal !== undefined;
  }

  /** Whether anything decision-relevant was recorded (a request with none is not worth storing). */
  get relevant(): boolean {
    return this.#request !== undefined && (this.#steps.length > 0 || this.#scopes.length > 0 || this.#tokens.length > 0 || this.#refusal !== undefined);
  }

  /**
   * Whether `other` recorded exactly the same decision: everything its trace holds but the request
   * id and the time (the request, the identity, every step with its latency, the scopes, the
   * claims, the refusal). Identical decisions share one stored body (explain/store.ts).
   */
  sameDecision(other: TraceRecorder): boolean {
    if (this.#tokens.length !== other.#tokens.length) return false;
    for (let i = 0; i < this.#tokens.length; i++) {
      const mine = this.#tokens[i]!;
      const theirs = other.#tokens[i]!;
      if (mine.token !== theirs.token || mine.resource !== theirs.resource || mine.claims.size !== theirs.claims.size) return false;
      const their = theirs.claims.values();
      for (const claim of mine.claims.values()) if (!sameClaim(claim, their.next().value!)) return false;
    }
    return sameJson(this.#request, other.#request) && sameJson(this.#identity, other.#identity) && sameJson(this.#steps, other.#steps)
      && sameJson(this.#scopes, other.#scopes) && sameJson(this.#refusal, other.#refusal);
  }

  toTrace(): DecisionTrace {
    const claims = claimOrigins(this.#tokens.map(({ token, resource, claims: named }) => ({ token, ...(resource === undefined ? {} : { resource }), claims: named.values() })));
    return { v: TRACE_VERSION, ...this.#common(), result: merged(this.#outcome(), { claims }) };
  }

  /** The trace as the store keeps it (stored-trace.ts): what `toTrace` holds, claims grouped per token. */
  toStored(): StoredTrace {
    const tokens = this.#tokens.map(({ token, resource, claims }) => (resource === undefined ? { token, claims: [...claims.values()] } : { token, resource, claims: [...claims.values()] }));
    return { v: STORED_TRACE_VERSION, ...this.#common(), result: merged(this.#outcome(), { tokens }) };
  }

  #common(): Omit<DecisionTrace, 'v' | 'result'> {
    return {
      requestId: this.requestId,
      at: this.at,
      request: this.#request ?? { endpoint: 'token', resources: [], scopes: [] },
      ...(this.#identity ? { identity: this.#identity } : {}),
      steps: [...this.#steps],
    };
  }

  #outcome(): Omit<TraceResult, 'claims'> {
    const refusal = this.#refusal;
    return {
      outcome: refusal ? 'refused' : 'issued',
      ...(refusal ? { error: refusal.error, ...(refusal.description === undefined ? {} : { description: refusal.description }), ...(refusal.by === undefined ? {} : { refusedBy: refusal.by }) } : {}),
      scopes: [...this.#scopes],
    };
  }
}

/** The claims of an identity that has none (a client's own, under client_credentials): one object, never written to. */
const NO_CLAIMS: Readonly<Record<string, unknown>> = Object.freeze({});

function hasMembers(values: object): boolean {
  for (const _ in values) return true;
  return false;
}

/** Two recorded claims alike (sameJson, for the tuple every claim of every traced token is). */
function sameClaim(mine: StoredClaim, theirs: StoredClaim): boolean {
  return mine[0] === theirs[0] && mine[1] === theirs[1] && mine.length === theirs.length && (mine.length < 3 || sameJson(mine[2], theirs[2]));
}
