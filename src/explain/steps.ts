// Recording helpers the decision functions call: each is a no-op outside a traced request, so
// the code paths stay the same whether `explain` is on or off.
import type { RuleConfig } from '../config/schema.ts';
import type { RuleDecision } from '../orchestration/rules.ts';
import { currentTrace } from './trace-context.ts';
import type { TraceActor } from './trace.ts';

/** The rules step: which rule decided, or that none matched / none is configured. */
export function recordRules(rules: readonly RuleConfig[] | undefined, decision: RuleDecision): void {
  const trace = currentTrace();
  if (!trace) return;
  if (!rules || rules.length === 0) {
    trace.step({ kind: 'rules', effect: 'none-configured' });
    return;
  }
  if (decision.rule === undefined) trace.step({ kind: 'rules', effect: 'no-match', ...(decision.allowed ? {} : { reason: decision.reason }) });
  else trace.step({ kind: 'rules', effect: decision.allowed ? 'allow' : 'deny', rule: decision.rule, ...(decision.allowed ? {} : { reason: decision.reason }) });
}

/** The request is refused with this RFC error by this step (the response may correct the error). */
export function recordRefusal(error: string, description: string | undefined, by: TraceActor): void {
  currentTrace()?.refuse(error, description, by);
}
