// The trace of the request being handled, carried through async calls so the shared decision
// functions (the pipeline, HookPoints.run, Authorizers.decide, token claims) record their step
// wherever they are called from. Outside a traced request `currentTrace()` is undefined and
// recording costs a lookup.
//
// Two carriers: Baton's own AsyncLocalStorage (the Koa pipeline, preview and replay), and, on the
// lean token path, the request's context in oidc-provider's store, which that path enters anyway.
// A second store in use costs every asynchronous resource of the process one more property on
// Node 20 (async_hooks propagate each store); the lean path is the one tracing every request of a
// busy machine client must keep cheap.
import { AsyncLocalStorage } from 'node:async_hooks';

import providerContext from 'oidc-provider/lib/helpers/als.js';

import type { TraceRecorder } from './recorder.ts';

const active = new AsyncLocalStorage<TraceRecorder>();

/** Where a recorder rides on a request context of the lean token path (the context itself: never copied, unlike its state). */
const ON_CONTEXT = Symbol('baton.trace');

interface Carrier {
  [ON_CONTEXT]?: TraceRecorder;
}

/** The recorder of the request being handled, if it is traced. */
export function currentTrace(): TraceRecorder | undefined {
  return active.getStore() ?? (providerContext.getStore() as Carrier | undefined)?.[ON_CONTEXT];
}

/**
 * Makes `recorder` the current trace wherever oidc-provider's store holds this context (the lean
 * token path runs the grant's steps inside it).
 */
export function traceOnContext(ctx: object, recorder: TraceRecorder): void {
  // On the context, not its state: a copy of the state (`{ ...ctx.state }`, the lean path's hand-over) leaves it behind.
  (ctx as Carrier)[ON_CONTEXT] = recorder;
}

/** The recorder `traceOnContext` put on this context. */
export function traceOfContext(ctx: object): TraceRecorder | undefined {
  return (ctx as Carrier)[ON_CONTEXT];
}

/** Runs `fn` with `recorder` as the current trace. */
export function withTrace<T>(recorder: TraceRecorder, fn: () => T): T {
  return active.run(recorder, fn);
}
