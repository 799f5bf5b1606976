// The trace of the request being handled, carried through async calls (AsyncLocalStorage) so the
// shared decision functions (the pipeline, HookPoints.run, Authorizers.decide, token claims) record
// their step wherever they are called from. Outside a traced request `currentTrace()` is undefined
// and recording costs one lookup.
import { AsyncLocalStorage } from 'node:async_hooks';

import { keepAll, redactAll, type Redactor } from './redact.ts';
import {
  PER_TOKEN_CLAIMS, TRACE_VERSION, type ClaimOrigin, type DecisionTrace, type ScopeVerdict, type TraceActor, type TraceIdentity,
  type TraceRequest, type TraceStep,
} from './trace.ts';

const active = new AsyncLocalStorage<TraceRecorder>();

/** The recorder of the request being handled, if it is traced. */
export function currentTrace(): TraceRecorder | undefined {
  return active.getStore();
}

/** Runs `fn` with `recorder` as the current trace. */
export function withTrace<T>(recorder: TraceRecorder, fn: () => T): T {
  return active.run(recorder, fn);
}

/** Collects one request's trace; the caller stores it (or not) when the request ends. */
export class TraceRecorder {
  readonly requestId: string;
  readonly at: number;
  #request: TraceRequest | undefined;
  #identity: TraceIdentity | undefined;
  readonly #steps: TraceStep[] = [];
  readonly #scopes: ScopeVerdict[] = [];
  /** By token, resource and claim (a later origin of the same claim replaces the earlier one, in place). */
  readonly #claims = new Map<string, ClaimOrigin>();
  #refusal: { error: string; description?: string; by?: TraceActor } | undefined;
  readonly #redact: Redactor;
  /** Work that finishes after the answer (shadow authorizers): the trace is stored once it settles. */
  readonly #pending: Promise<unknown>[] = [];

  /** `redact` hides the values of `explain.redactClaims` (identity claims, attributes, token claims). */
  constructor(requestId: string, at: number, redact: Redactor = keepAll) {
    this.requestId = requestId;
    this.at = at;
    this.#redact = redact;
  }

  /** The value to record for claim `name` (redacted per configuration). */
  redactValue(name: string, value: unknown): unknown {
    return this.#redact(name, value);
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
    this.#request = { endpoint: 'token', resources: [], scopes: [], ...this.#request, ...request };
  }

  /** Adds a resource the request concerns (once). */
  addResource(resource: string): void {
    const current = this.#request ?? { endpoint: 'token', resources: [], scopes: [] };
    if (!current.resources.includes(resource)) this.#request = { ...current, resources: [...current.resources, resource] };
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
    this.#identity = {
      ...identity,
      claims: redactAll(identity.claims, this.#redact),
      ...(identity.attrs ? { attrs: redactAll(identity.attrs, this.#redact) } : {}),
    };
  }

  get hasIdentity(): boolean {
    return this.#identity !== undefined;
  }

  step(step: TraceStep): void {
    this.#steps.push(step);
  }

  /** The steps recorded so far, in order. */
  get steps(): readonly TraceStep[] {
    return this.#steps;
  }

  /** A scope's verdict; a later verdict for the same scope and resource replaces the earlier one. */
  scope(verdict: ScopeVerdict): void {
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
    // Built field by field (no rest/spread): this runs for every claim of every traced token.
    const { token, resource, claim, by, value } = origin;
    const kept: { -readonly [K in keyof ClaimOrigin]: ClaimOrigin[K] } = resource === undefined ? { token, claim, by } : { token, resource, claim, by };
    if (value !== undefined && !PER_TOKEN_CLAIMS.has(claim)) kept.value = this.#redact(claim, value);
    this.#claims.set(`${token}\u0000${resource ?? ''}\u0000${claim}`, kept);
  }

  /** The request was refused with this RFC error; the first refusal recorded wins. */
  refuse(error: string, description?: string, by?: TraceActor): void {
    this.#refusal ??= { error, ...(description === undefined ? {} : { description }), ...(by === undefined ? {} : { by }) };
  }

  /** The error the client actually received (from the response); keeps who refused, if recorded. */
  answered(error: string, description?: string, by?: TraceActor): void {
    const earlier = this.#refusal;
    const actor = earlier?.by ?? by;
    this.#refusal = { error, ...(description === undefined ? {} : { description }), ...(actor === undefined ? {} : { by: actor }) };
  }

  get refused(): boolean {
    return this.#refusal !== undefined;
  }

  /** Whether anything decision-relevant was recorded (a request with none is not worth storing). */
  get relevant(): boolean {
    return this.#request !== undefined && (this.#steps.length > 0 || this.#scopes.length > 0 || this.#claims.size > 0 || this.#refusal !== undefined);
  }

  toTrace(): DecisionTrace {
    const refusal = this.#refusal;
    return {
      v: TRACE_VERSION,
      requestId: this.requestId,
      at: this.at,
      request: this.#request ?? { endpoint: 'token', resources: [], scopes: [] },
      ...(this.#identity ? { identity: this.#identity } : {}),
      steps: [...this.#steps],
      result: {
        outcome: refusal ? 'refused' : 'issued',
        ...(refusal ? { error: refusal.error, ...(refusal.description === undefined ? {} : { description: refusal.description }), ...(refusal.by === undefined ? {} : { refusedBy: refusal.by }) } : {}),
        scopes: [...this.#scopes],
        claims: [...this.#claims.values()],
      },
    };
  }
}
