// What a trace keeps of a hook call: the shape of its input (names, counts and a few harmless
// request parameters, never a value that could be a credential: no api.upstream tokens, no
// password, no id_token_hint, request object, login_hint_token or code_verifier) and its checked
// output with claim values redacted per `explain.redactClaims`.
import type { TraceRecorder } from './recorder.ts';

/** Authorization parameters whose values say how the request was made, never who or with what secret. */
const SHOWN_PARAMS: ReadonlySet<string> = new Set([
  'scope', 'resource', 'prompt', 'acr_values', 'ui_locales', 'max_age', 'response_type', 'response_mode', 'display', 'audience', 'requested_token_type',
]);

interface HookInputLike {
  readonly client?: { readonly id?: string };
  readonly flow?: string;
  readonly grantType?: string;
  readonly scopes?: readonly string[];
  readonly resource?: string;
  readonly params?: Readonly<Record<string, string | undefined>>;
  readonly user?: { readonly sub?: string; readonly upstream?: string; readonly claims?: object; readonly attrs?: object };
  readonly username?: string;
}

export function summarizeHookInput(ctx: unknown, hasUpstream: boolean): Record<string, unknown> {
  const input = (ctx ?? {}) as HookInputLike;
  const params = Object.entries(input.params ?? {}).filter(([, value]) => value !== undefined);
  const summary: Record<string, unknown> = {};
  if (input.client?.id !== undefined) summary.client = input.client.id;
  if (input.flow !== undefined) summary.flow = input.flow;
  if (input.grantType !== undefined) summary.grantType = input.grantType;
  return Object.assign(summary, {
    scopes: [...(input.scopes ?? [])],
    ...(input.resource === undefined ? {} : { resource: input.resource }),
    ...(params.length === 0 ? {} : {
      params: Object.fromEntries(params.filter(([name]) => SHOWN_PARAMS.has(name))),
      otherParams: params.map(([name]) => name).filter((name) => !SHOWN_PARAMS.has(name)),
    }),
    ...(input.user ? {
      user: {
        sub: input.user.sub,
        ...(input.user.upstream === undefined ? {} : { upstream: input.user.upstream }),
        claims: Object.keys(input.user.claims ?? {}),
        attrs: Object.keys(input.user.attrs ?? {}),
      },
    } : {}),
    ...(input.username === undefined ? {} : { username: true, password: true }),
    upstreamTokens: hasUpstream,
  });
}

/** The checked output: booleans as they are, objects with their values redacted per claim name. */
export function summarizeHookOutput(output: unknown, trace: TraceRecorder): unknown {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return output;
  return Object.fromEntries(Object.entries(output).map(([name, value]) => [name, name === 'claims' && value !== null && typeof value === 'object'
    ? Object.fromEntries(Object.entries(value).map(([claim, v]) => [claim, trace.redactValue(claim, v)]))
    : trace.redactValue(name, value)]));
}
