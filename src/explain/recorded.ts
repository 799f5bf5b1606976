// `--recorded`: the authorizers' answers taken from a trace instead of calling them, so a preview
// or replay can be repeated exactly (or run where the authorizers cannot be reached). Ownership of
// scopes is still the configuration's (longest namespace); a scope whose owner left no answer in
// the trace (neither its step nor its scope verdicts) counts as that authorizer failing.
import type { AuthorizerConfig } from '../config/orchestration.ts';
import type { AuthorizerTrace, DecisionRequest, FanoutResult } from '../orchestration/authorizers/index.ts';
import { NamespaceIndex } from '../orchestration/authorizers/namespaces.ts';
import type { ScopeAuthority } from './evaluator.ts';
import type { DecisionTrace, TraceStep } from './trace.ts';

type AuthorizerStep = Extract<TraceStep, { kind: 'authorizer' }>;

export function recordedAuthorizers(configs: readonly AuthorizerConfig[], trace: DecisionTrace): ScopeAuthority {
  const index = new NamespaceIndex(configs);
  const steps = trace.steps.filter((s): s is AuthorizerStep => s.kind === 'authorizer' && !s.shadow);
  return {
    concerns: (scopes) => scopes.some((scope) => index.ownerOf(scope) !== undefined),
    async decide(request: DecisionRequest): Promise<FanoutResult> {
      const granted = new Set<string>();
      const claims: Record<string, unknown> = {};
      const traces: AuthorizerTrace[] = [];
      let failed: FanoutResult['failed'];
      for (const [config, requested] of index.partition(request.scopes)) {
        const step = steps.find((s) => s.authorizer === config.id && (s.resource === undefined || s.resource === request.resource))
          ?? fromVerdicts(trace, config.id, request.resource);
        const answer: AuthorizerTrace = { authorizer: config.id, requested, granted: [], outcome: 'failed', cached: true, latencyMs: 0 };
        if (!step || step.outcome === 'failed' || step.outcome === 'ignored') {
          answer.outcome = config.onFailure === 'ignore' ? 'ignored' : 'failed';
          answer.reason = step ? step.reason ?? step.outcome : 'no answer recorded in the trace';
          if (answer.outcome === 'failed') failed ??= { authorizer: config.id, reason: answer.reason };
        } else {
          answer.granted = step.granted.filter((scope) => requested.includes(scope));
          answer.outcome = step.outcome;
          if (step.reason !== undefined) answer.reason = step.reason;
          answer.granted.forEach((scope) => granted.add(scope));
          for (const origin of trace.result.claims) {
            if (origin.by === `authorizer:${config.id}` && origin.token === 'access_token' && origin.resource === request.resource) claims[origin.claim] = origin.value;
          }
        }
        traces.push(answer);
      }
      const scopes = [...new Set(request.scopes)].filter((scope) => index.ownerOf(scope) === undefined || granted.has(scope));
      return { scopes, claims, traces, ...(failed ? { failed } : {}) };
    },
  };
}

/** A trace without the authorizer's step still says, scope by scope, what it decided (result.scopes). */
function fromVerdicts(trace: DecisionTrace, authorizer: string, resource: string | undefined): AuthorizerStep | undefined {
  const verdicts = trace.result.scopes.filter((v) => v.by === `authorizer:${authorizer}` && v.resource === resource);
  if (verdicts.length === 0) return undefined;
  const granted = verdicts.filter((v) => v.granted).map((v) => v.scope);
  const reason = verdicts.find((v) => !v.granted && v.reason !== undefined)?.reason;
  return {
    kind: 'authorizer', authorizer, shadow: false, ...(resource === undefined ? {} : { resource }), requested: verdicts.map((v) => v.scope), granted,
    outcome: granted.length > 0 ? 'granted' : 'denied', cached: true, latencyMs: 0, ...(reason === undefined ? {} : { reason }),
  };
}
