// TEMPORARY minimal renderer (issue 15): the traces branch ships the real `renderTrace` with this
// exact signature and replaces this file at merge. preview and replay only call renderTrace.
import type { DecisionTrace } from './trace.ts';

export function renderTrace(trace: DecisionTrace): string {
  const { request, result } = trace;
  const lines = [`request ${trace.requestId}: ${request.grantType ?? request.endpoint} for ${request.clientId ?? '?'} -> ${result.outcome}${result.error ? ` (${result.error}: ${result.description ?? ''})` : ''}`];
  for (const step of trace.steps) lines.push(`  step ${step.kind}: ${JSON.stringify(step)}`);
  for (const scope of result.scopes) lines.push(`  scope ${scope.scope}${scope.resource ? ` @ ${scope.resource}` : ''}: ${scope.granted ? 'granted' : 'denied'} by ${scope.by}${scope.reason ? ` (${scope.reason})` : ''}`);
  for (const claim of result.claims) lines.push(`  claim ${claim.token}${claim.resource ? ` @ ${claim.resource}` : ''} ${claim.claim}: set by ${claim.by}`);
  return `${lines.join('\n')}\n`;
}
