// `baton preview`: the tokens a configuration would issue to a client for a user, decided by the
// real pipeline, hooks and authorizers (or the answers recorded in a trace), with no HTTP server
// and no upstream sign-in; printed with their explanation. Refusals print why (exit status 1).
import type { BatonConfig } from '../config/schema.ts';
import { merged } from '../lang/merged.ts';
import { openStore } from '../storage/index.ts';
import { evaluate, EvaluationInputError, EVALUATED_GRANTS, type EvaluatedGrant, type Evaluation } from './evaluate.ts';
import { createEvaluator, signingKeys } from './evaluator.ts';
import { identityFromClaimsFile, identityFromIdToken, type IdentityInput } from './identity-input.ts';
import { recordedAuthorizers } from './recorded.ts';
import { renderTrace } from './render.ts';
import { storedTrace, traceFile } from './trace-source.ts';
import type { DecisionTrace } from './trace.ts';

export interface PreviewOptions {
  readonly client: string;
  readonly claims?: string;
  readonly idToken?: string;
  readonly upstream?: string;
  readonly sub?: string;
  readonly scope?: string;
  readonly resource?: readonly string[];
  readonly grant?: string;
  /** A request id in the store, or a file holding a trace. */
  readonly recorded?: string;
  readonly json?: boolean;
}

export interface PreviewOutput {
  readonly notes: readonly string[];
  readonly evaluation: Evaluation;
}

/** Resolves with what to print; rejects with an EvaluationInputError for a request the configuration cannot run. */
export async function preview(config: BatonConfig, configDir: string, options: PreviewOptions): Promise<PreviewOutput> {
  const grant = options.grant ?? (options.claims || options.idToken ? 'authorization_code' : 'client_credentials');
  if (!(EVALUATED_GRANTS as readonly string[]).includes(grant)) throw new EvaluationInputError(`--grant: one of ${EVALUATED_GRANTS.join(', ')}`);
  if (options.claims && options.idToken) throw new EvaluationInputError('--claims and --id-token: one or the other');
  const notes: string[] = ['preview: nothing was issued or stored; per-token claims (jti, iat, exp...) differ in every real token'];
  const store = openStore(config.storage);
  try {
    const recorded = options.recorded === undefined ? undefined : await recordedTrace(store, options.recorded);
    // A store that cannot be read here (down, another network) only costs the real signing key.
    const keys = recorded ? undefined : await signingKeys(config, store).catch(() => undefined);
    if (config.authorizers.length > 0) {
      notes.push(recorded ? `authorizers: answers recorded in trace ${recorded.requestId}, not called`
        : keys ? 'authorizers: called for real, signed with Baton\'s current signing key'
          : 'authorizers: called for real, signed with a throwaway key (no key set in the store): authorizers that verify Baton\'s JWKS will refuse');
    }
    const evaluator = await createEvaluator(config, { configDir, ...(keys ? { keys } : {}) });
    const withRecorded = recorded ? merged(evaluator, { authorizers: recordedAuthorizers(config.authorizers, recorded) }) : evaluator;
    let input: IdentityInput | undefined;
    if (options.claims) input = identityFromClaimsFile(options.claims, { upstream: options.upstream || undefined, sub: options.sub || undefined });
    else if (options.idToken) input = await identityFromIdToken(options.idToken, options.upstream, evaluator.upstreams);
    if (input) notes.push(...input.notes);
    const evaluation = await evaluate(withRecorded, {
      clientId: options.client,
      grantType: grant as EvaluatedGrant,
      scopes: (options.scope ?? '').split(' ').filter(Boolean),
      resources: [...options.resource ?? []],
      ...(input ? { identity: input.identity } : {}),
    });
    return { notes, evaluation };
  } finally {
    await store.close();
  }
}

async function recordedTrace(store: ReturnType<typeof openStore>, source: string): Promise<DecisionTrace> {
  if (/[/\\]|\.jsonl?$/.test(source)) {
    const [trace] = traceFile(source);
    if (!trace) throw new EvaluationInputError(`${source}: no trace`);
    return trace;
  }
  const trace = await storedTrace(store, source);
  if (!trace) throw new EvaluationInputError(`no stored trace for request ${source} (expired, not sampled, or another store)`);
  return trace;
}

/** The text output: notes, the tokens, the explanation. */
export function formatPreview({ notes, evaluation }: PreviewOutput): string {
  const out: string[] = notes.map((note) => `# ${note}`);
  const { result } = evaluation.trace;
  if (result.outcome === 'refused') {
    out.push('', `REFUSED: ${result.error}${result.description ? `: ${result.description}` : ''}${result.refusedBy ? ` (by ${result.refusedBy})` : ''}`);
  } else {
    if (evaluation.idToken) out.push('', 'id_token:', JSON.stringify(evaluation.idToken, null, 2));
    for (const token of evaluation.accessTokens) out.push('', `access token for ${token.resource}:`, JSON.stringify(token.claims, null, 2));
    if (!evaluation.idToken && evaluation.accessTokens.length === 0) out.push('', 'no token with claims: ask for openid or name a --resource');
  }
  out.push('', 'explanation:', renderTrace(evaluation.trace));
  return `${out.join('\n')}\n`;
}

export function previewJson({ notes, evaluation }: PreviewOutput): string {
  return `${JSON.stringify({ notes, outcome: evaluation.trace.result.outcome, idToken: evaluation.idToken, accessTokens: evaluation.accessTokens, trace: evaluation.trace }, null, 2)}\n`;
}
