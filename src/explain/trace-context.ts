// The trace of the request being handled, carried through async calls so the shared decision
// functions (the pipeline, HookPoints.run, Authorizers.decide, token claims) record their step
// wherever they are called from. Outside a traced request `currentTrace()` is undefined and
// recording costs a lookup.
//
// One carrier: oidc-provider's own AsyncLocalStorage, which every request of the provider's routes
// enters with its context (initialize_app.js) and the lean token path enters with its own. The
// recorder rides on that context; Baton's own routes, preview and replay enter the store with a
// carrier of their own. A store of Baton's would cost more than traced requests: on Node 20 every
// AsyncLocalStorage ever entered is copied onto every promise the process creates afterwards, so
// one traced sign-in would tax every later request of every kind.
import providerContext from 'oidc-provider/lib/helpers/als.js';

import type { TraceRecorder } from './recorder.ts';

/** Where a recorder rides on a request context (the context itself: never copied, unlike its state). */
const ON_CONTEXT = Symbol('baton.trace');

interface Carrier {
  [ON_CONTEXT]?: TraceRecorder;
}

/** The recorder of the request being handled, if it is traced. */
export function currentTrace(): TraceRecorder | undefined {
  return (providerContext.getStore() as Carrier | undefined)?.[ON_CONTEXT];
}

/**
 * Makes `recorder` the current trace wherever oidc-provider's store holds this context (the
 * provider's routes and the lean token path run their steps inside it).
 */
export function traceOnContext(ctx: object, recorder: TraceRecorder): void {
  // On the context, not its state: a copy of the state (`{ ...ctx.state }`, the lean path's hand-over) leaves it behind.
  (ctx as Carrier)[ON_CONTEXT] = recorder;
}

/** The recorder `traceOnContext` put on this context. */
export function traceOfContext(ctx: object): TraceRecorder | undefined {
  return (ctx as Carrier)[ON_CONTEXT];
}

/**
 * Runs `fn` with `recorder` as the current trace, in a carrier of its own (Baton's routes, preview,
 * replay); a provider route inside it enters the store again with its context, which must carry the
 * recorder too (`traceOnContext`).
 */
export function withTrace<T>(recorder: TraceRecorder, fn: () => T): T {
  // Not a request context (oidc-provider's models read `ctx.oidc` from the store: here nothing, as
  // outside a request), and nothing inherited: only the recorder.
  const carrier = Object.assign(Object.create(null) as Carrier, { [ON_CONTEXT]: recorder });
  return providerContext.run(carrier, fn);
}
