// A decision trace as a readable tree: the request, the identity, each step in order with its
// latency, then every scope (granted or denied, by whom) and every claim of the issued tokens
// (who set it). What `baton explain` prints and docs/explain.md shows.
import type { ClaimOrigin, DecisionTrace, Redacted, TraceStep } from './trace.ts';

export function renderTrace(trace: DecisionTrace): string {
  const lines: string[] = [];
  const { request, identity, result } = trace;
  lines.push(`request ${trace.requestId} at ${new Date(trace.at).toISOString()} (${request.endpoint})`);
  if (request.clientId !== undefined) lines.push(`  client     ${request.clientId}`);
  if (request.grantType !== undefined) lines.push(`  grant      ${request.grantType}`);
  if (request.subjectTokenType !== undefined) lines.push(`  subject    ${request.subjectTokenType}${request.actorTokenType ? `, actor ${request.actorTokenType}` : ''}`);
  if (request.resources.length > 0) lines.push(`  resources  ${request.resources.join(' ')}`);
  lines.push(`  scopes     ${request.scopes.length > 0 ? request.scopes.join(' ') : '(none asked)'}`);
  if (identity) {
    const via = [identity.upstream && `upstream ${identity.upstream}`, identity.upstreamSubject && `subject ${identity.upstreamSubject}`].filter(Boolean).join(', ');
    lines.push(`identity ${identity.sub}${via ? ` (${via})` : ''}`);
    if (Object.keys(identity.claims).length > 0) lines.push(`  claims     ${pairs(identity.claims)}`);
    if (identity.attrs && Object.keys(identity.attrs).length > 0) lines.push(`  attrs      ${pairs(identity.attrs)}`);
  }
  lines.push('steps');
  if (trace.steps.length === 0) lines.push('  (none: no rule, hook or authorizer was involved)');
  trace.steps.forEach((step, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${describeStep(step)}`));
  const verdict = result.outcome === 'issued' ? 'issued' : `refused: ${result.error}${result.description ? ` (${result.description})` : ''}${result.refusedBy ? ` by ${result.refusedBy}` : ''}`;
  lines.push(`result ${verdict}`);
  if (result.scopes.length > 0) {
    lines.push('  scopes');
    const width = Math.max(...result.scopes.map((s) => s.scope.length));
    for (const s of result.scopes) {
      lines.push(`    ${s.granted ? 'granted' : 'denied '} ${s.scope.padEnd(width)}  by ${s.by}${s.resource ? `  at ${s.resource}` : ''}${s.reason ? `: ${s.reason}` : ''}`);
    }
  }
  if (result.claims.length > 0) {
    lines.push('  claims');
    for (const [token, claims] of groupByToken(result.claims)) {
      lines.push(`    ${token}`);
      const width = Math.max(...claims.map((c) => c.claim.length));
      for (const c of claims) lines.push(`      ${c.claim.padEnd(width)}  ${c.by.padEnd(28)} ${c.value === undefined ? '(per token)' : show(c.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function describeStep(step: TraceStep): string {
  switch (step.kind) {
    case 'check':
      return `check ${step.check}: ${step.outcome}${step.reason ? ` (${step.reason})` : ''}`;
    case 'rules':
      return `rules: ${step.effect}${step.rule === undefined ? '' : ` (rule #${step.rule})`}${step.reason ? `: ${step.reason}` : ''}`;
    case 'hook': {
      const outcome = step.outcome === 'ran' ? `ran, output ${show(step.output)}` : `failed (${step.failure})`;
      return `hook ${step.hook} [${step.module}] ${ms(step.latencyMs)}: ${outcome}${step.droppedClaims?.length ? `; reserved claims dropped: ${step.droppedClaims.join(' ')}` : ''}`;
    }
    case 'authorizer': {
      const denied = step.requested.filter((scope) => !step.granted.includes(scope));
      const parts = [
        step.granted.length > 0 ? `granted ${step.granted.join(' ')}` : undefined,
        denied.length > 0 ? `denied ${denied.join(' ')}` : undefined,
      ].filter(Boolean).join(', ');
      const head = `${step.shadow ? 'shadow ' : ''}authorizer ${step.authorizer}${step.resource ? ` at ${step.resource}` : ''} ${ms(step.latencyMs)}${step.cached ? ' (cached)' : ''}: ${step.outcome}`;
      const tail = [
        parts || undefined,
        step.reason ? `reason: ${step.reason}` : undefined,
        step.claims?.length ? `claims: ${step.claims.join(' ')}` : undefined,
        step.disagreements === undefined ? undefined : step.disagreements.length > 0 ? `DISAGREES on ${step.disagreements.join(' ')}` : 'agrees',
      ].filter(Boolean).join('; ');
      return tail ? `${head}; ${tail}` : head;
    }
  }
}

function groupByToken(claims: readonly ClaimOrigin[]): Map<string, ClaimOrigin[]> {
  const groups = new Map<string, ClaimOrigin[]>();
  for (const claim of claims) {
    const key = claim.resource ? `${claim.token} for ${claim.resource}` : claim.token;
    groups.set(key, [...(groups.get(key) ?? []), claim]);
  }
  return groups;
}

function isRedacted(value: unknown): value is Redacted {
  return value !== null && typeof value === 'object' && (value as { redacted?: unknown }).redacted === true;
}

function show(value: unknown): string {
  if (isRedacted(value)) return `(redacted ${value.digest})`;
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function pairs(values: Readonly<Record<string, unknown>>): string {
  return Object.entries(values).map(([name, value]) => `${name}=${show(value)}`).join(', ');
}

function ms(latency: number): string {
  return `${latency.toFixed(1)} ms`;
}
