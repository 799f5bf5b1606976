// Decision traces as the server wires them (`explain.enabled`): where traces are kept, the edge that
// starts and stores them (also for the lean token path), and the authenticated /explain/{id} route.
// Absent when explain is off: nothing of it is built.
import type Router from '@koa/router';

import type { BatonConfig } from '../config/schema.ts';
import { merged } from '../lang/merged.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Store } from '../storage/store.ts';
import { BasicClientAuth } from './client-auth.ts';
import { explainEdge, type ExplainEdge } from './edge.ts';
import { addExplainRoute, EXPLAIN_PREFIX } from './endpoint.ts';
import { createRedactor } from './redact.ts';
import { TraceStore, type TraceLoss, type TraceStoreOptions } from './store.ts';

export interface Explain {
  readonly edge: ExplainEdge;
  /** The path prefix the explain route owns at the edge. */
  readonly prefix: string;
  addRoute(routes: Router): void;
  /** Writes the traces still waiting; call after the listeners closed, before the store closes. */
  close(): Promise<void>;
}

export interface ExplainDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Keys `explain.redactClaims` digests (derived from the master secret for this purpose only). */
  readonly redactionKey: Buffer;
  /** Paths of the routes that decide (the edge traces only those). */
  readonly paths: { readonly token: string; readonly authorization: string; readonly passthroughPrefix: string; readonly bffPrefix: string };
  /** How traces are batched into writes (defaults: TraceStore's). */
  readonly writes?: TraceWrites;
}

/** The batching a deployment may not set but a test may: the flush delay and the batch size. */
export type TraceWrites = Pick<TraceStoreOptions, 'flushDelay' | 'batchSize'>;

export function createExplain({ config, store, logger, metrics, redactionKey, paths, writes }: ExplainDeps): Explain | undefined {
  if (!config.explain.enabled) return undefined;
  // Every loss is counted; a flood of them (an overloaded or unreachable store) is logged once per 10 s.
  const lastLogged = new Map<TraceLoss, number>();
  const onLoss = (reason: TraceLoss, count: number, err?: unknown) => {
    metrics?.tracesLost.inc({ reason }, count);
    const now = Date.now();
    if (now - (lastLogged.get(reason) ?? -Infinity) < 10_000) return;
    lastLogged.set(reason, now);
    const entry = { event: 'explain.store_failed', reason, count, ...(err === undefined ? {} : { err }) };
    if (reason === 'store_failed') logger.error(entry, 'decision traces were not stored: the store refused the write');
    else logger.warn(entry, reason === 'queue_full' ? 'decision traces dropped: more are waiting to be stored than explain keeps in memory' : 'decision trace finished after shutdown began: not stored');
  };
  const traces = new TraceStore(store, config.explain.ttl, merged(writes, { onLoss }));
  const auth = new BasicClientAuth(config.clients);
  return {
    edge: explainEdge({
      config: config.explain, traces, logger, redact: createRedactor(config.explain.redactClaims, redactionKey),
      tokenPath: paths.token, authorizationPath: paths.authorization, passthroughPrefix: paths.passthroughPrefix, bffPrefix: paths.bffPrefix,
    }),
    prefix: EXPLAIN_PREFIX,
    addRoute: (routes) => addExplainRoute(routes, { traces, auth, readers: config.explain.readers, logger }),
    close: () => traces.close(),
  };
}
