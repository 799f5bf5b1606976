// `baton replay`: the recorded traces' inputs (request and identity) decided again by a candidate
// configuration, its rules, hooks and authorizers called for real, and what would change for whom.
// Exit status 0 when nothing changes, 1 when anything does: a deployment gate for CI.
import type { BatonConfig } from '../config/schema.ts';
import { describeChange as describeChangeText, diffTraces, type Change } from './diff.ts';
import { evaluate, EvaluationInputError, EVALUATED_GRANTS, type EvaluatedGrant, type EvaluationRequest } from './evaluate.ts';
import type { Evaluator } from './evaluator.ts';
import type { DecisionTrace, TraceIdentity } from './trace.ts';

export interface ReplayFilter {
  /** Epoch ms, inclusive. */
  readonly since?: number;
  readonly until?: number;
  readonly client?: string;
  /** Baton's sub. */
  readonly user?: string;
}

export type ReplayOutcome =
  | { readonly requestId: string; readonly status: 'changed' | 'unchanged'; readonly clientId?: string; readonly sub?: string; readonly grantType: string; readonly changes: readonly Change[] }
  | { readonly requestId: string; readonly status: 'skipped'; readonly reason: string };

export interface ReplayReport {
  readonly results: readonly ReplayOutcome[];
  readonly summary: { readonly replayed: number; readonly changed: number; readonly unchanged: number; readonly skipped: Readonly<Record<string, number>> };
}

export function selectTraces(traces: readonly DecisionTrace[], filter: ReplayFilter): DecisionTrace[] {
  return traces.filter((t) => (filter.since === undefined || t.at >= filter.since) && (filter.until === undefined || t.at <= filter.until)
    && (filter.client === undefined || t.request.clientId === filter.client) && (filter.user === undefined || t.identity?.sub === filter.user));
}

export async function replay(candidate: Evaluator, traces: readonly DecisionTrace[]): Promise<ReplayReport> {
  const results: ReplayOutcome[] = [];
  for (const trace of traces) results.push(await replayOne(candidate, trace));
  const skipped: Record<string, number> = {};
  for (const r of results) if (r.status === 'skipped') skipped[r.reason] = (skipped[r.reason] ?? 0) + 1;
  const count = (status: string) => results.filter((r) => r.status === status).length;
  return { results, summary: { replayed: count('changed') + count('unchanged'), changed: count('changed'), unchanged: count('unchanged'), skipped } };
}

async function replayOne(candidate: Evaluator, trace: DecisionTrace): Promise<ReplayOutcome> {
  const input = replayInput(trace);
  if (typeof input === 'string') return { requestId: trace.requestId, status: 'skipped', reason: input };
  let replayed: DecisionTrace;
  try {
    replayed = (await evaluate(candidate, input.request)).trace;
  } catch (err) {
    if (err instanceof EvaluationInputError) return { requestId: trace.requestId, status: 'skipped', reason: `not in the candidate: ${err.message}` };
    throw err;
  }
  const changes = diffTraces(trace, replayed, { tokens: input.tokens });
  return {
    requestId: trace.requestId, status: changes.length > 0 ? 'changed' : 'unchanged', grantType: input.request.grantType, changes,
    ...(trace.request.clientId ? { clientId: trace.request.clientId } : {}), ...(trace.identity?.sub ? { sub: trace.identity.sub } : {}),
  };
}

/** The evaluation a trace's inputs make, or why they cannot be replayed. */
function replayInput(trace: DecisionTrace): { request: EvaluationRequest; tokens: boolean } | string {
  const { request, identity } = trace;
  if (request.endpoint !== 'token' && request.endpoint !== 'authorization' && request.endpoint !== 'preview') return `${request.endpoint} requests are not replayed`;
  if (!request.clientId) return 'no client recorded';
  // A sign-in (authorization endpoint) is replayed as a sign-in and its code redemption; only its outcome compares.
  const grantType = request.endpoint === 'authorization' ? 'authorization_code' : request.grantType ?? '';
  if (!(EVALUATED_GRANTS as readonly string[]).includes(grantType)) return `unsupported grant ${grantType || '(none)'}`;
  if (grantType !== 'client_credentials') {
    if (!identity) return 'no identity recorded';
    if (redactedNames(identity).length > 0) return 'redacted inputs';
  }
  const replayedIdentity = grantType === 'client_credentials' || !identity ? undefined : {
    sub: identity.sub, claims: identity.claims,
    ...(identity.upstream ? { upstream: identity.upstream } : {}), ...(identity.upstreamSubject ? { upstreamSubject: identity.upstreamSubject } : {}),
    // On refresh the rules read the attributes loadAttrs stored at sign-in; a sign-in loads them again.
    ...(grantType === 'refresh_token' && identity.attrs ? { attrs: identity.attrs } : {}),
    ...(identity.acr ? { acr: identity.acr } : {}), ...(identity.amr ? { amr: identity.amr } : {}), ...(identity.authTime ? { authTime: identity.authTime } : {}),
  };
  return {
    request: {
      clientId: request.clientId, grantType: grantType as EvaluatedGrant, scopes: request.scopes, resources: request.resources,
      requestId: trace.requestId, ...(replayedIdentity ? { identity: replayedIdentity } : {}),
    },
    tokens: request.endpoint !== 'authorization',
  };
}

function redactedNames(identity: TraceIdentity): string[] {
  const isRedacted = (v: unknown) => typeof v === 'object' && v !== null && (v as { redacted?: unknown }).redacted === true;
  return [...Object.entries(identity.claims), ...Object.entries(identity.attrs ?? {})].filter(([, v]) => isRedacted(v)).map(([name]) => name);
}

/** The text report: each changed request with its changes, then the summary. */
export function formatReplay(report: ReplayReport, config: Pick<BatonConfig, 'issuer'>): string {
  const out: string[] = [`replay against the candidate configuration of ${config.issuer}`];
  for (const r of report.results) {
    if (r.status !== 'changed') continue;
    out.push('', `${r.requestId}: ${r.grantType} for client ${r.clientId ?? '?'}${r.sub && r.sub !== r.clientId ? `, user ${r.sub}` : ''}`);
    for (const change of r.changes) out.push(...describeLines(change).map((line) => `  ${line}`));
  }
  const skipped = Object.entries(report.summary.skipped).sort(([a], [b]) => a.localeCompare(b));
  const skippedTotal = skipped.reduce((n, [, c]) => n + c, 0);
  out.push('', `${report.summary.replayed} replayed: ${report.summary.changed} changed, ${report.summary.unchanged} unchanged; ${skippedTotal} skipped${skipped.length > 0 ? ` (${skipped.map(([reason, c]) => `${reason}: ${c}`).join('; ')})` : ''}`);
  return `${out.join('\n')}\n`;
}

function describeLines(change: Change): string[] {
  return describeChangeText(change).split('\n');
}
