// The scope verdicts of one access token at the token endpoint: each asked scope the resource
// defines, granted or denied, and by whom: the client's configuration (`clients[].resources`), or
// the authorizer that owns it (found in the trace's authorizer steps for that resource).
import type { TraceRecorder } from './recorder.ts';
import type { TraceActor } from './trace.ts';

export interface ResourceDecision {
  readonly resource: string;
  /** The scopes the resource defines. */
  readonly defined: readonly string[];
  /** What the client's configuration allows it there. */
  readonly allowed: readonly string[];
  /** What this token gets (after the authorizers). */
  readonly decided: readonly string[];
  /** What was asked (undefined: nothing narrower than the allowed scopes). */
  readonly asked?: ReadonlySet<string>;
}

export function recordResourceScopes(trace: TraceRecorder, { resource, defined, allowed, decided, asked }: ResourceDecision): void {
  trace.addResource(resource);
  const decidedSet = new Set(decided);
  const allowedSet = new Set(allowed);
  const owner = (scope: string) => {
    for (let i = trace.steps.length - 1; i >= 0; i--) {
      const step = trace.steps[i]!;
      if (step.kind === 'authorizer' && !step.shadow && step.resource === resource && step.requested.includes(scope)) return step;
    }
    return undefined;
  };
  const candidates = asked ? [...asked].filter((scope) => defined.includes(scope) || allowedSet.has(scope)) : [...allowed];
  for (const scope of candidates) {
    if (!allowedSet.has(scope)) {
      trace.scope({ scope, resource, granted: false, by: 'client', reason: 'not among the scopes this client may obtain at this resource' });
      continue;
    }
    const step = owner(scope);
    const by: TraceActor = step ? `authorizer:${step.authorizer}` : 'client';
    const granted = decidedSet.has(scope);
    trace.scope(granted || step?.reason === undefined ? { scope, resource, granted, by } : { scope, resource, granted, by, reason: step.reason });
  }
}
