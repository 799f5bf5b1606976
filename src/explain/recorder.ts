// The trace of the request being handled, carried through async calls (AsyncLocalStorage) so the
// shared decision functions (the pipeline, HookPoints.run, Authorizers.decide, token claims) record
// their step wherever they are called from. Outside a traced request `currentTrace()` is undefined
// and recording costs one lookup.
import { AsyncLocalStorage } from 'node:async_hooks';

import {
  TRACE_VERSION, type ClaimOrigin, type DecisionTrace, type ScopeVerdict, type TraceActor, type TraceIdentity,
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
  readonly #claims: ClaimOrigin[] = [];
  #refusal: { error: string; description?: string; by?: TraceActor } | undefined;

  constructor(requestId: string, at: number) {
    this.requestId = requestId;
    this.at = at;
  }

  /** Sets (or completes) what was asked; later calls override earlier fields. */
  request(request: Partial<TraceRequest> & Pick<TraceRequest, 'endpoint'>): void {
    this.#request = { resources: [], scopes: [], ...this.#request, ...request };
  }

  identity(identity: TraceIdentity): void {
    this.#identity = identity;
  }

  step(step: TraceStep): void {
    this.#steps.push(step);
  }

  scope(verdict: ScopeVerdict): void {
    this.#scopes.push(verdict);
  }

  claim(origin: ClaimOrigin): void {
    this.#claims.push(origin);
  }

  /** The request was refused with this RFC error; the first refusal recorded wins. */
  refuse(error: string, description?: string, by?: TraceActor): void {
    this.#refusal ??= { error, ...(description === undefined ? {} : { description }), ...(by === undefined ? {} : { by }) };
  }

  get refused(): boolean {
    return this.#refusal !== undefined;
  }

  /** Whether anything decision-relevant was recorded (a request with none is not worth storing). */
  get relevant(): boolean {
    return this.#request !== undefined && (this.#steps.length > 0 || this.#scopes.length > 0 || this.#claims.length > 0 || this.#refusal !== undefined);
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
        claims: [...this.#claims],
      },
    };
  }
}
