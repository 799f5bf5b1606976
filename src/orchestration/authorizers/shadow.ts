// An authorizer's part of the fan-out as a decision-trace step, and a shadow's comparison with
// the enforced outcome: the scopes it was asked about where its answer differs from what the
// enforced authorizer granted.
import type { TraceStep } from '../../explain/trace.ts';
import type { AuthorizerConfig } from '../../config/orchestration.ts';
import { merged } from '../../lang/merged.ts';
import type { AuthorizerTrace } from './types.ts';

type AuthorizerStep = Extract<TraceStep, { kind: 'authorizer' }>;

export function traceStep(trace: AuthorizerTrace, resource: string | undefined, claims: readonly string[], shadow = false): AuthorizerStep {
  return {
    kind: 'authorizer', authorizer: trace.authorizer, shadow, ...(resource === undefined ? {} : { resource }),
    requested: [...trace.requested], granted: [...trace.granted], outcome: trace.outcome, cached: trace.cached, latencyMs: trace.latencyMs,
    ...(trace.reason === undefined ? {} : { reason: trace.reason }),
    ...(claims.length > 0 ? { claims: [...claims] } : {}),
  };
}

/**
 * A shadow's step: `disagreements` lists the scopes it would have granted and the enforced one did
 * not, or the other way round. A shadow that failed has no opinion: no disagreement.
 */
export function shadowStep(trace: AuthorizerTrace, resource: string | undefined, enforced: ReadonlySet<string>): AuthorizerStep {
  const step = traceStep(trace, resource, [], true);
  if (trace.outcome === 'failed' || trace.outcome === 'ignored') return merged(step, { disagreements: [] });
  const granted = new Set(trace.granted);
  return merged(step, { disagreements: trace.requested.filter((scope) => granted.has(scope) !== enforced.has(scope)) });
}

/** The access-token claims an authorizer's answer set: its namespace object, or its top-level claims. */
export function placedClaims(config: AuthorizerConfig, claims: Record<string, unknown> | undefined, dropped: readonly string[]): string[] {
  const names = Object.keys(claims ?? {});
  if (names.length === 0) return [];
  const namespace = config.claimsNamespace ?? config.id;
  if (namespace !== '') return dropped.includes(namespace) ? [] : [namespace];
  return names.filter((name) => !dropped.includes(name));
}
