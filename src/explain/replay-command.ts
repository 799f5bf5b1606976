// `baton replay` as a command: where the traces come from (the live configuration's store, or a
// JSON lines file), which of them (time window, client, user), the candidate's evaluator, and
// `--export`, which writes the selected stored traces as JSON lines for a CI job to gate on.
import { writeFileSync } from 'node:fs';

import type { BatonConfig } from '../config/schema.ts';
import { openStore } from '../storage/index.ts';
import { EvaluationInputError } from './evaluate.ts';
import { createEvaluator, signingKeys } from './evaluator.ts';
import { replay, selectTraces, type ReplayFilter, type ReplayReport } from './replay.ts';
import { storedTraces, toJsonLines, traceFile } from './trace-source.ts';
import type { DecisionTrace } from './trace.ts';

export interface ReplayOptions {
  readonly fromStore?: string;
  readonly traces?: string;
  readonly since?: string;
  readonly until?: string;
  readonly client?: string;
  readonly user?: string;
  readonly json?: boolean;
  readonly export?: string;
}

/** `--since` / `--until`: an ISO 8601 date-time, or epoch milliseconds. */
export function parseInstant(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const at = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(at)) throw new EvaluationInputError(`${option}: an ISO 8601 date-time or epoch milliseconds, not ${value}`);
  return at;
}

export function replayFilter(options: ReplayOptions): ReplayFilter {
  return {
    since: parseInstant(options.since, '--since'),
    until: parseInstant(options.until, '--until'),
    client: options.client,
    user: options.user,
  };
}

/** The selected traces: from the live configuration's store (a maintenance read) or a file. */
export async function loadTraces(live: BatonConfig | undefined, options: ReplayOptions): Promise<DecisionTrace[]> {
  if ((live === undefined) === (options.traces === undefined)) throw new EvaluationInputError('name the traces: --from-store LIVE.yaml or --traces FILE.jsonl (one of them)');
  let traces: DecisionTrace[];
  if (live) {
    const store = openStore(live.storage);
    try {
      traces = await storedTraces(store);
    } finally {
      await store.close();
    }
  } else {
    traces = traceFile(options.traces!);
  }
  return selectTraces(traces, replayFilter(options));
}

export function exportTraces(traces: readonly DecisionTrace[], file: string): void {
  writeFileSync(file, toJsonLines(traces), { mode: 0o600 });
}

/** Replays `traces` through `candidate`, whose authorizer requests are signed with the key set of its own store (read only). */
export async function replayAgainst(candidate: BatonConfig, configDir: string, traces: readonly DecisionTrace[]): Promise<ReplayReport> {
  let keys;
  try {
    const store = openStore(candidate.storage);
    try {
      keys = await signingKeys(candidate, store);
    } finally {
      await store.close();
    }
  } catch {
    // A candidate whose store cannot be read here (CI): authorizer requests go out signed with a throwaway key.
    keys = undefined;
  }
  const evaluator = await createEvaluator(candidate, { configDir, ...(keys ? { keys } : {}) });
  return replay(evaluator, traces);
}
