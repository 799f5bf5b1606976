// What the lean token path (lean-token.ts) hands to the full pipeline when it falls back: the body
// it already read (replayed to oidc-provider's parser) and the outcome of every step with side
// effects it already ran (the authorizer fan-out, the access token claims hooks), so the full
// pipeline answers from them instead of asking the authorizers or running the hooks a second time.
import type { IncomingMessage } from 'node:http';

import type { KoaContextWithOIDC } from 'oidc-provider';

import type { TraceRecorder } from '../explain/recorder.ts';
import type { ScopeDecider } from '../provider/resources.ts';

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** One request's side-effecting steps, as the lean path ran them. */
export interface LeanSteps {
  /** Per resource: the decided scopes (and the claims the decider left in ctx.state), or the error. */
  readonly decisions: Map<string, Outcome<{ scopes: readonly string[]; state: Record<string, unknown> }>>;
  /** The access token's extra claims (extraTokenClaims), or the error. */
  claims?: Outcome<Record<string, unknown> | undefined>;
  /** The decision trace the lean path started: the edge continues it rather than starting another. */
  readonly trace?: TraceRecorder;
}

type ExtraTokenClaims = (ctx: KoaContextWithOIDC, token: never) => Promise<Record<string, unknown> | undefined>;

const handedOver = new WeakMap<IncomingMessage, LeanSteps>();
/** The lean path's own context carries its steps here while it runs. */
const STEPS = Symbol('leanSteps');

export function newSteps(): LeanSteps {
  return { decisions: new Map() };
}

/** Marks a context object as the lean path's: the wrapped steps record into `steps`. */
export function withSteps<T extends object>(ctx: T, steps: LeanSteps): T {
  return Object.assign(ctx, { [STEPS]: steps });
}

/**
 * Gives the full pipeline the request back: the body replayed to oidc-provider's parser (it reads
 * `req` with `iterator()` while `readable`), and the steps already run.
 */
export function handOver(req: IncomingMessage, body: Buffer | undefined, steps: LeanSteps | undefined): void {
  if (body) {
    Object.defineProperty(req, 'readable', { value: true, configurable: true });
    Object.defineProperty(req, 'iterator', { configurable: true, value: () => replayBody(body) });
  }
  if (steps && (steps.decisions.size > 0 || steps.claims)) handedOver.set(req, steps);
}

/**
 * The body as one chunk, for `for await`: a plain async iterator (each step an already settled
 * promise), lighter than an async generator's queue of requests.
 */
function replayBody(body: Buffer): AsyncIterableIterator<Buffer> {
  let done = false;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (done) return Promise.resolve({ done: true, value: undefined });
      done = true;
      return Promise.resolve({ done: false, value: body });
    },
    return() {
      done = true;
      return Promise.resolve({ done: true, value: undefined });
    },
  };
}

/** The trace a handed-over request's lean part recorded into, if any (for the edge to continue). */
export function handedOverTrace(req: IncomingMessage): TraceRecorder | undefined {
  return handedOver.get(req)?.trace;
}

function stepsOf(ctx: KoaContextWithOIDC | undefined): { steps: LeanSteps; lean: boolean } | undefined {
  const own = (ctx as { [STEPS]?: LeanSteps } | undefined)?.[STEPS];
  if (own) return { steps: own, lean: true };
  const req = (ctx as { req?: IncomingMessage } | undefined)?.req;
  const steps = req && handedOver.get(req);
  return steps ? { steps, lean: false } : undefined;
}

function replay<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** The decider, recording its outcome on the lean path and replaying it after a fallback. */
export function handedOverDecider(decide: ScopeDecider): ScopeDecider {
  return async (ctx, clientId, resource, allowed) => {
    const found = stepsOf(ctx);
    if (!found) return decide(ctx, clientId, resource, allowed);
    const known = found.steps.decisions.get(resource);
    if (known && !found.lean) {
      if (known.ok) Object.assign(ctx.state, known.value.state, { requestId: ctx.state.requestId });
      return replay(known).scopes;
    }
    try {
      const scopes = await decide(ctx, clientId, resource, allowed);
      found.steps.decisions.set(resource, { ok: true, value: { scopes, state: { ...ctx.state } } });
      return scopes;
    } catch (error) {
      found.steps.decisions.set(resource, { ok: false, error });
      throw error;
    }
  };
}

/** extraTokenClaims, recording its outcome on the lean path and replaying it after a fallback. */
export function handedOverClaims<F extends ExtraTokenClaims>(claims: F): F {
  const recorded = async (ctx: KoaContextWithOIDC, token: never, found: { steps: LeanSteps; lean: boolean }) => {
    const known = found.steps.claims;
    if (known && !found.lean) return replay(known);
    try {
      const value = await claims(ctx, token);
      found.steps.claims = { ok: true, value };
      return value;
    } catch (error) {
      found.steps.claims = { ok: false, error };
      throw error;
    }
  };
  // A request the lean path never saw (every user grant) calls `claims` as it is, no frame added.
  return ((ctx: KoaContextWithOIDC, token: never) => {
    const found = stepsOf(ctx);
    return found ? recorded(ctx, token, found) : claims(ctx, token);
  }) as F;
}
