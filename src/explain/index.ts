// Decision traces as the server wires them (`explain.enabled`): where traces are kept, the edge that
// starts and stores them (also for the lean token path), and the authenticated /explain/{id} route.
// Absent when explain is off: nothing of it is built.
import type Router from '@koa/router';

import type { BatonConfig } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Store } from '../storage/store.ts';
import { BasicClientAuth } from './client-auth.ts';
import { explainEdge, type ExplainEdge } from './edge.ts';
import { addExplainRoute, EXPLAIN_PREFIX } from './endpoint.ts';
import { createRedactor } from './redact.ts';
import { TraceStore } from './store.ts';

export interface Explain {
  readonly edge: ExplainEdge;
  /** The path prefix the explain route owns at the edge. */
  readonly prefix: string;
  addRoute(routes: Router): void;
}

export interface ExplainDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly logger: Logger;
  /** Keys `explain.redactClaims` digests (derived from the master secret for this purpose only). */
  readonly redactionKey: Buffer;
  /** Paths of the routes that decide (the edge traces only those). */
  readonly paths: { readonly token: string; readonly authorization: string; readonly passthroughPrefix: string; readonly bffPrefix: string };
}

export function createExplain({ config, store, logger, redactionKey, paths }: ExplainDeps): Explain | undefined {
  if (!config.explain.enabled) return undefined;
  const traces = new TraceStore(store, config.explain.ttl);
  const auth = new BasicClientAuth(config.clients);
  return {
    edge: explainEdge({
      config: config.explain, traces, logger, redact: createRedactor(config.explain.redactClaims, redactionKey),
      tokenPath: paths.token, authorizationPath: paths.authorization, passthroughPrefix: paths.passthroughPrefix, bffPrefix: paths.bffPrefix,
    }),
    prefix: EXPLAIN_PREFIX,
    addRoute: (routes) => addExplainRoute(routes, { traces, auth, readers: config.explain.readers, logger }),
  };
}
