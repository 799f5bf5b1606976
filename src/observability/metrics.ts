// Prometheus metrics (prom-client) for operators: tokens issued by grant, client and result,
// upstream, authorizer and hook latency and outcomes, storage latency, and the process's own metrics.
// Served at /metrics; names follow Prometheus conventions (`_total`, `_seconds`).
import { collectDefaultMetrics, Counter, Histogram, Registry, type LabelValues } from 'prom-client';
import type { Attributes } from '@opentelemetry/api';

import { GRANT_TYPES } from '../config/schema.ts';
import { merged } from '../lang/merged.ts';
import type { Store } from '../storage/store.ts';
import { countedSeries } from './counted-series.ts';
import { SpanKind, traced, tracing } from './tracing.ts';

const KNOWN_GRANTS: ReadonlySet<string> = new Set(GRANT_TYPES);
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * What became of a refresh (`baton_refresh_total{outcome}`): `rotated` (new refresh token issued),
 * `grace_replay` (a rotated token presented again inside the window got the same successor),
 * `reuse_revoked` (reuse: the family was revoked), `given_back` (the request failed after the token
 * was validated; it stays unspent for the retry), `upstream_refreshed` / `upstream_failed` (the
 * upstream session was renewed / could not be), `upstream_grace` (let through by the
 * upstream's grace period while it could not confirm), `ended` (the upstream session, hence the grant, ended).
 */
export const REFRESH_OUTCOMES = ['rotated', 'grace_replay', 'reuse_revoked', 'given_back', 'upstream_refreshed', 'upstream_failed', 'upstream_grace', 'ended'] as const;
export type RefreshOutcome = (typeof REFRESH_OUTCOMES)[number];

export class Metrics {
  readonly registry = new Registry();

  readonly tokens = new Counter({
    name: 'baton_token_requests_total',
    help: 'Token endpoint requests by grant type, client and result (the OAuth error code, or "issued").',
    labelNames: ['grant_type', 'client_id', 'result'] as const,
    registers: [this.registry],
  });

  readonly refreshes = new Counter({
    name: 'baton_refresh_total',
    help: `Refreshes by outcome: ${REFRESH_OUTCOMES.join(', ')}.`,
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly authorizers = new Histogram({
    name: 'baton_authorizer_decision_seconds',
    help: 'Authorizer decisions by authorizer, outcome and whether the decision cache answered.',
    labelNames: ['authorizer', 'outcome', 'cached'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly shadowDisagreements = new Counter({
    name: 'baton_authorizer_shadow_disagreements_total',
    help: 'Scopes a shadow authorizer would have decided otherwise than the enforced authorizer, by shadow.',
    labelNames: ['authorizer'] as const,
    registers: [this.registry],
  });

  readonly tracesLost = new Counter({
    name: 'baton_explain_traces_lost_total',
    help: 'Decision traces not stored, by reason: queue_full (more waiting than explain keeps in memory), store_failed (the store refused the batch), closed (after shutdown began).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly hooks = new Histogram({
    name: 'baton_hook_seconds',
    help: 'Hook runs by hook name and result (ran, threw, timeout, bad-shape).',
    labelNames: ['hook', 'result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly upstreams = new Histogram({
    name: 'baton_upstream_request_seconds',
    help: 'Calls to upstream identity providers by upstream, operation (sign_in, refresh, revoke, verify_id_token, begin) and result ("ok" or the failure kind: unreachable, grant_refused, invalid_response, not_allowed).',
    labelNames: ['upstream', 'operation', 'result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly storage = new Histogram({
    name: 'baton_storage_seconds',
    help: 'Storage operations by backend, operation and result.',
    labelNames: ['backend', 'operation', 'result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /**
   * One token request. Label values stay bounded: a grant type Baton does not know counts as
   * `other`, a client id outside `knownClients` as `unknown`.
   */
  countTokenRequest(grantType: string | undefined, clientId: string | undefined, knownClients: ReadonlySet<string>, result: string): void {
    this.tokens.inc({
      grant_type: grantType !== undefined && KNOWN_GRANTS.has(grantType) ? grantType : grantType === undefined ? 'unknown' : 'other',
      client_id: clientId !== undefined && knownClients.has(clientId) ? clientId : 'unknown',
      result,
    });
  }

  /** One refresh outcome (see REFRESH_OUTCOMES). */
  countRefresh(outcome: RefreshOutcome): void {
    this.refreshes.inc({ outcome });
  }

  /** `baton_refresh_total` from the `upstream.refresh` events. */
  countUpstreamRefresh(event: { outcome: string; upstreamCall: string }): void {
    if (event.upstreamCall === 'ok') this.refreshes.inc({ outcome: 'upstream_refreshed' });
    if (event.upstreamCall === 'failed') this.refreshes.inc({ outcome: 'upstream_failed' });
    if (event.outcome === 'grace') this.refreshes.inc({ outcome: 'upstream_grace' });
    if (event.outcome === 'ended') this.refreshes.inc({ outcome: 'ended' });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'baton_' });
    // Every outcome is a series from the start, so rates and alerts see zero rather than nothing.
    for (const outcome of REFRESH_OUTCOMES) this.refreshes.inc({ outcome }, 0);
  }
}

const STORE_OPERATIONS = ['upsert', 'find', 'findByUid', 'findByUserCode', 'consume', 'destroy', 'revokeByGrantId', 'listModelIds', 'rekey', 'getRecord', 'putRecord', 'insertRecords', 'deleteRecord', 'listRecordIds', 'collectExpired', 'ping'] as const;

/** The store with every operation timed into `baton_storage_seconds` and traced; behaviour unchanged. */
export function measuredStore(store: Store, metrics: Metrics): Store {
  const measured = Object.create(store) as Store;
  for (const operation of STORE_OPERATIONS) {
    const call = (store[operation] as (...args: unknown[]) => Promise<unknown>).bind(store);
    const labels = { backend: store.kind, operation };
    const attributes = { 'db.system': store.kind, 'db.operation': operation };
    // A token request makes several store calls: the success series is counted in place (counted-series.ts).
    const succeeded = countedSeries(metrics.storage, merged(labels, { result: 'ok' }));
    const slow = (args: unknown[]) => timedCall(metrics.storage, labels, `storage.${operation}`, attributes, () => call(...args));
    Object.defineProperty(measured, operation, {
      value: (...args: unknown[]) => {
        // With an OpenTelemetry SDK, each call is a span too (timedCall); without one, only timed.
        if (tracing()) return slow(args);
        const started = performance.now();
        let pending: Promise<unknown>;
        try {
          pending = call(...args);
        } catch (err) {
          pending = Promise.reject(err);
        }
        return pending.then((result) => {
          succeeded((performance.now() - started) / 1000);
          return result;
        }, (err: unknown) => {
          metrics.storage.observe(merged(labels, { result: 'error' }), (performance.now() - started) / 1000);
          throw err;
        });
      },
    });
  }
  Object.defineProperty(measured, 'close', { value: () => store.close() });
  Object.defineProperty(measured, 'kind', { value: store.kind });
  return measured;
}

/**
 * Runs a call that leaves Baton (storage, an upstream) as a client span, timed into `histogram`
 * with `result` = "ok", or `failure(err)` when it rejects; the rejection is rethrown.
 */
export function timedCall<L extends string, T>(
  histogram: Histogram<L>, labels: LabelValues<L>, span: string, attributes: Attributes,
  call: () => Promise<T>, failure: (err: unknown) => string = () => 'error',
): Promise<T> {
  return traced(span, attributes, async () => {
    const end = histogram.startTimer(labels);
    try {
      const result = await call();
      end({ result: 'ok' } as LabelValues<L>);
      return result;
    } catch (err) {
      end({ result: failure(err) } as LabelValues<L>);
      throw err;
    }
  }, SpanKind.CLIENT);
}
