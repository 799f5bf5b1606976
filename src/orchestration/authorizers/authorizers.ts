// The authorizer fan-out: every authorizer concerned by a token request is asked in parallel,
// each within its deadline and through the decision cache; the answers are merged without ever
// widening the request, and every decision is traced and logged as 'authorizer.decision'.
import { performance } from 'node:perf_hooks';

import type { AuthorizerConfig } from '../../config/orchestration.ts';
import type { Events } from '../../observability/events.ts';
import type { Logger } from '../../observability/logger.ts';
import { currentRequestId } from '../../observability/request-log.ts';
import { SpanKind, traced } from '../../observability/tracing.ts';
import type { Store } from '../../storage/store.ts';
import { currentTrace } from '../../explain/trace-context.ts';
import { placedClaims, shadowStep, traceStep } from './shadow.ts';
import { DecisionCache, cacheKey } from './cache.ts';
import { callAuthorizer } from './call.ts';
import { undiciPost, type AuthorizerPost } from './transport.ts';
import { placeClaims } from './claims.ts';
import { requestBodies } from './protocol.ts';
import { NamespaceIndex, checkAuthorizerConfigs } from './namespaces.ts';
import { AuthorizerFailure, type AuthorizerTrace, type Decision, type DecisionRequest, type FanoutResult } from './types.ts';

/** What the fan-out needs from Baton. */
export interface AuthorizersDeps {
  /** Signs a short-lived JWT for one authorizer (`aud` = its id); the signer adds iss, iat, exp, jti. */
  sign: (audience: string, payload: Record<string, unknown>) => Promise<string>;
  /** Decision cache, record kind 'authorizer-decision'. */
  store: Store;
  logger: Logger;
  /**
   * Where the decisions that went as expected are logged (`info`, one line per authorizer and
   * decision): the access log's buffered destination in a server, not a write per line. Failures and
   * dropped scopes or claims (`warn`) go to `logger`, written at once. Default: `logger`.
   */
  requestLogger?: Logger;
  /** Receives every decision as an 'authorizer.decision' event (audit log). */
  events?: Events;
  /** How requests reach authorizers; defaults to undici (transport.ts). */
  post?: AuthorizerPost;
  /** Epoch milliseconds; defaults to Date.now. */
  clock?: () => number;
  /** A shadow authorizer answered: how many scopes it would have decided otherwise (metric). */
  onShadow?: (authorizer: string, disagreements: number) => void;
}

interface Part { config: AuthorizerConfig; trace: AuthorizerTrace; decision?: Decision }

/** The configured authorizers, ready to decide token requests. */
export class Authorizers {
  readonly #configs: readonly AuthorizerConfig[];
  readonly #shadows: readonly AuthorizerConfig[];
  readonly #index: NamespaceIndex;
  readonly #onShadow?: AuthorizersDeps['onShadow'];
  readonly #cache: DecisionCache;
  readonly #deps: { sign: AuthorizersDeps['sign']; post: AuthorizerPost; logger: Logger; requestLogger: Logger; events?: Events };

  /** Throws when the configurations are unusable (duplicate ids or namespaces, http to a remote host, reserved claim namespace). */
  constructor(configs: readonly AuthorizerConfig[], deps: AuthorizersDeps) {
    const problems = checkAuthorizerConfigs(configs);
    if (problems.length > 0) throw new Error(`invalid authorizers: ${problems.join('; ')}`);
    this.#configs = configs.filter((config) => !config.shadow);
    this.#shadows = configs.filter((config) => config.shadow);
    this.#onShadow = deps.onShadow;
    this.#index = new NamespaceIndex(configs);
    this.#cache = new DecisionCache(deps.store, deps.clock ?? Date.now, deps.logger);
    this.#deps = { sign: deps.sign, post: deps.post ?? undiciPost, logger: deps.logger, requestLogger: deps.requestLogger ?? deps.logger, ...(deps.events ? { events: deps.events } : {}) };
  }

  /** True when some requested scope falls in an authorizer's namespace. */
  concerns(scopes: readonly string[]): boolean {
    return scopes.some((scope) => this.#index.ownerOf(scope) !== undefined);
  }

  /**
   * Asks every concerned authorizer, all in parallel, and merges their answers: the result keeps
   * the requested scopes outside every namespace and those granted by their owner, in request
   * order; no failure ever grants a scope. Never rejects.
   */
  async decide(request: DecisionRequest): Promise<FanoutResult> {
    const groups = this.#index.partition(request.scopes);
    const concerned = this.#configs.filter((config) => groups.has(config));
    const body = requestBodies(request);
    // Shadows start with the enforced calls but are never awaited here: a slow shadow delays no one.
    const shadowed = this.#shadows.flatMap((shadow) => {
      const owner = concerned.find((config) => config.namespace === shadow.namespace);
      return owner ? [{ shadow, owner, part: this.#traced(shadow, groups.get(owner) ?? [], request, body) }] : [];
    });
    const parts = await Promise.all(concerned.map((config) => this.#traced(config, groups.get(config) ?? [], request, body)));

    const granted = new Set<string>();
    const claims: Record<string, unknown> = {};
    let failed: FanoutResult['failed'];
    const recorder = currentTrace();
    for (const { config, trace, decision } of parts) {
      trace.granted.forEach((scope) => granted.add(scope));
      const droppedClaims = decision ? placeClaims(claims, config, decision.claims) : [];
      recorder?.step(traceStep(trace, request.resource, placedClaims(config, decision?.claims, droppedClaims)));
      if (trace.outcome === 'failed' && !failed) failed = { authorizer: config.id, reason: trace.reason ?? 'failed' };
      this.#log(request, trace, droppedClaims);
    }
    const scopes = [...new Set(request.scopes)].filter((scope) => this.#index.ownerOf(scope) === undefined || granted.has(scope));
    const result: FanoutResult = { scopes, claims, traces: parts.map((part) => part.trace) };
    if (failed) result.failed = failed;
    for (const { shadow, part } of shadowed) {
      const compared = part.then((answer) => {
        // The enforced outcome of the shadowed scopes: what the owner granted (nothing if it failed).
        const step = shadowStep(answer.trace, request.resource, granted);
        this.#onShadow?.(shadow.id, step.disagreements?.length ?? 0);
        this.#log(request, answer.trace, [], true);
        recorder?.step(step);
      });
      recorder?.wait(compared);
      compared.catch((err: unknown) => this.#deps.logger.error({ event: 'authorizer.error', authorizer: shadow.id, err }, 'shadow authorizer comparison failed'));
    }
    return result;
  }

  /** One authorizer's part inside its client span. */
  #traced(config: AuthorizerConfig, requested: string[], request: DecisionRequest, body: (scopes: readonly string[]) => string): Promise<Part> {
    return traced('authorizer.decide', { 'baton.authorizer': config.id }, async (span) => {
      const part = await this.#ask(config, requested, request, body);
      span.setAttributes({ 'baton.authorizer.outcome': part.trace.outcome, 'baton.authorizer.cached': part.trace.cached });
      return part;
    }, SpanKind.CLIENT);
  }

  /** One authorizer's part: cache, else a call; a failure yields a trace with no decision. */
  async #ask(config: AuthorizerConfig, requested: string[], request: DecisionRequest, body: (scopes: readonly string[]) => string): Promise<Part> {
    const started = performance.now();
    let decision: Decision | undefined;
    let cached = false;
    let failure = 'failed';
    try {
      const key = config.cacheTTL > 0 ? cacheKey(config, request, requested) : undefined;
      decision = key === undefined ? undefined : await this.#cache.get(config, key);
      cached = decision !== undefined;
      if (!decision) {
        decision = await callAuthorizer(config, request, requested, this.#deps, body);
        if (key !== undefined) await this.#cache.put(config, key, decision);
      }
    } catch (err) {
      decision = undefined;
      failure = err instanceof AuthorizerFailure ? err.reason : 'internal error';
      if (!(err instanceof AuthorizerFailure)) this.#deps.logger.error({ event: 'authorizer.error', authorizer: config.id, err }, 'authorizer call failed unexpectedly');
    }
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    const trace: AuthorizerTrace = { authorizer: config.id, requested, granted: [], outcome: 'failed', cached, latencyMs };
    if (!decision) {
      trace.outcome = config.onFailure === 'ignore' ? 'ignored' : 'failed';
      trace.reason = failure;
      return { config, trace };
    }
    // Defence in depth (a cached record is re-checked too): only requested scopes of this namespace.
    const asked = new Set(requested);
    trace.granted = decision.granted.filter((scope) => asked.has(scope));
    trace.outcome = decision.decision === 'grant' ? 'granted' : 'denied';
    if (decision.reason !== undefined) trace.reason = decision.reason;
    if (decision.dropped.length > 0) trace.dropped = [...decision.dropped];
    return { config, trace, decision };
  }

  #log(request: DecisionRequest, trace: AuthorizerTrace, droppedClaims: string[], shadow = false): void {
    const reqId = request.requestId ?? currentRequestId();
    if (shadow) {
      this.#deps.requestLogger.info({ event: 'authorizer.shadow', reqId, sub: request.subject, client_id: request.clientId, resource: request.resource, trace }, `shadow authorizer ${trace.outcome}`);
      return;
    }
    // Built only for a subscriber (the audit log): the copies below are per authorizer and decision.
    if (this.#deps.events?.wants('authorizer.decision')) this.#deps.events.emit('authorizer.decision', {
      authorizer: trace.authorizer, sub: request.subject, clientId: request.clientId, grantType: request.grantType,
      ...(request.resource === undefined ? {} : { resource: request.resource }),
      outcome: trace.outcome, requested: [...trace.requested], granted: [...trace.granted], cached: trace.cached, latencyMs: trace.latencyMs,
      ...(trace.reason === undefined ? {} : { reason: trace.reason }),
      ...(reqId === undefined ? {} : { reqId }),
    });
    const record = {
      event: 'authorizer.decision',
      reqId,
      sub: request.subject,
      client_id: request.clientId,
      grant_type: request.grantType,
      resource: request.resource,
      trace,
      ...(droppedClaims.length > 0 ? { dropped_claims: droppedClaims } : {}),
    };
    const suspicious = trace.dropped !== undefined || droppedClaims.length > 0;
    if (trace.outcome === 'failed' || trace.outcome === 'ignored' || suspicious) {
      this.#deps.logger.warn(record, suspicious ? 'authorizer answered scopes it may not grant or claims it may not set: dropped' : `authorizer ${trace.outcome}: ${trace.reason}`);
    } else {
      this.#deps.requestLogger.info(record, `authorizer ${trace.outcome}`);
    }
  }
}
