// Calls one hook: deep-frozen context, deadline, result checked and copied, reserved claims removed,
// an audit event either way. A failure is a HookError whose message is safe to show a client.
import { performance } from 'node:perf_hooks';

import { merged } from '../../lang/merged.ts';
import { apiInternals, type HookLogger } from './api.ts';
import type { LoadedHooks } from './loader.ts';
import {
  type AuthorizationDecision, type BackchannelOutcome, ShapeError, checkAttrs, checkAuthenticate, checkAuthorized,
  checkBackchannel, checkBoolean, dropReserved, frozenCopy, reservedFor, toClaims,
} from './shape.ts';
import type { AuthenticateResult, BackchannelContext, HookApi, HookContext, HookName, JsonObject } from './types.ts';

export type HookFailureKind = 'threw' | 'timeout' | 'bad-shape';

const SAFE_MESSAGES: Record<HookFailureKind, (hook: HookName) => string> = {
  threw: (hook) => `The ${hook} extension failed.`,
  timeout: (hook) => `The ${hook} extension did not answer in time.`,
  'bad-shape': (hook) => `The ${hook} extension returned an invalid result.`,
};

/** A hook that failed. `message` is safe for a client; `detail` (internal) and the original error are for logs. */
export class HookError extends Error {
  override readonly name = 'HookError';
  constructor(
    readonly kind: HookFailureKind,
    readonly hook: HookName,
    readonly module: string,
    readonly detail?: string,
  ) {
    super(SAFE_MESSAGES[kind](hook));
  }
}

/** The audit event of every hook call. `droppedClaims`: reserved claims the hook tried to set. */
export type HookEvent =
  | { readonly type: 'hook.ran'; readonly hook: HookName; readonly module: string; readonly latencyMs: number; readonly droppedClaims?: readonly string[] }
  | { readonly type: 'hook.failed'; readonly hook: HookName; readonly module: string; readonly latencyMs: number; readonly kind: HookFailureKind };

export interface RunHookOptions {
  /** Deadline in milliseconds (the configuration's `timeout` is in seconds). */
  readonly timeoutMs: number;
  readonly logger: HookLogger;
  /** The request id for the failure's error line; default: the one the hook's context carries. */
  readonly reqId?: string;
  readonly onEvent?: (event: HookEvent) => void;
}

/** What each hook yields once checked: copies of JSON values, normalised unions. */
export interface HookOutputs {
  isAuthenticated: boolean;
  authenticate: AuthenticateResult | undefined;
  authenticateBackchannel: BackchannelOutcome;
  isAuthorized: AuthorizationDecision;
  loadAttrs: JsonObject;
  buildIDTokenClaims: JsonObject;
  buildAccessTokenClaims: JsonObject;
  buildUserInfoClaims: JsonObject;
}

/** The request id a hook's context carries (every hook but authenticateBackchannel's), for log lines. */
export function hookRequestId(ctx: object): string | undefined {
  const id = (ctx as { requestId?: unknown }).requestId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** The context to pass: the runner sets `hook`. */
export type HookInput<N extends HookName> = Omit<N extends 'authenticateBackchannel' ? BackchannelContext : HookContext, 'hook'>;

const CHECKS: { [N in HookName]: (value: unknown) => HookOutputs[N] } = {
  isAuthenticated: checkBoolean,
  authenticate: checkAuthenticate,
  authenticateBackchannel: checkBackchannel,
  isAuthorized: checkAuthorized,
  loadAttrs: checkAttrs,
  buildIDTokenClaims: (value) => toClaims(value),
  buildAccessTokenClaims: (value) => toClaims(value),
  buildUserInfoClaims: (value) => toClaims(value),
};

const CLAIMS_HOOKS: readonly HookName[] = ['buildIDTokenClaims', 'buildAccessTokenClaims', 'buildUserInfoClaims', 'authenticateBackchannel'];

/**
 * Runs hook `name` of `loaded` (check `hasHook` first: running an absent hook is a programming error).
 * Resolves with the checked result, or rejects with a HookError (`threw`, `timeout`, `bad-shape`).
 * The deadline is a timer raced against the hook: a hook stuck in a synchronous loop blocks the
 * event loop and cannot be interrupted in-process; asynchronous work (api.fetch) is aborted.
 */
export async function runHook<N extends HookName>(
  loaded: LoadedHooks,
  name: N,
  ctx: HookInput<N>,
  api: HookApi,
  options: RunHookOptions,
): Promise<HookOutputs[N]> {
  const fn = loaded.hooks[name] as ((ctx: unknown, api: HookApi) => unknown) | undefined;
  if (typeof fn !== 'function') throw new Error(`hook module ${loaded.module} has no ${name} hook`);
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) throw new Error('runHook: timeoutMs must be positive');
  const { logger, onEvent } = options;
  const internals = apiInternals(api);
  const frozen = frozenCopy(merged(ctx, { hook: name }));
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 10) / 10;

  const fail = (kind: HookFailureKind, detail: string | undefined, err?: unknown): never => {
    const error = new HookError(kind, name, loaded.module, detail);
    const latencyMs = latency();
    logger.error(internals.scrub({ event: 'hook.failed', reqId: options.reqId ?? hookRequestId(ctx), hook: name, hookModule: loaded.module, kind, latencyMs, detail, ...(err === undefined ? {} : { err: errorFields(err) }) }) as object, `hook ${name} failed (${kind})`);
    emit(onEvent, logger, { type: 'hook.failed', hook: name, module: loaded.module, latencyMs, kind });
    throw error;
  };

  let raw: unknown;
  try {
    raw = await withDeadline(() => fn(frozen, api), options.timeoutMs);
  } catch (err) {
    if (err === TIMEOUT || internals.isDeadline(err)) {
      internals.abort();
      return fail('timeout', `no answer within ${options.timeoutMs} ms`);
    }
    return fail('threw', undefined, err);
  }

  let result: HookOutputs[N];
  try {
    result = CHECKS[name](raw);
  } catch (err) {
    if (err instanceof ShapeError) return fail('bad-shape', err.message);
    return fail('threw', 'reading the result failed', err);
  }

  let droppedClaims: string[] = [];
  if (CLAIMS_HOOKS.includes(name)) {
    const claims = name === 'authenticateBackchannel' ? claimsOf(result as BackchannelOutcome) : (result as JsonObject);
    droppedClaims = claims ? dropReserved(claims, reservedFor(name)) : [];
    if (droppedClaims.length > 0) {
      logger.warn({ event: 'hook.reserved_claims', hook: name, hookModule: loaded.module, claims: droppedClaims }, `hook ${name} tried to set reserved claims; they were removed`);
    }
  }
  emit(onEvent, logger, { type: 'hook.ran', hook: name, module: loaded.module, latencyMs: latency(), ...(droppedClaims.length ? { droppedClaims } : {}) });
  return result;
}

const TIMEOUT = Symbol('timeout');

/** Calls `call` (sync throws become rejections) and rejects with TIMEOUT after `ms`. */
async function withDeadline<T>(call: () => T | Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // The timer starts before the hook does, so it fires before any deadline the hook's api.fetch sets.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMEOUT), ms);
  });
  const work = new Promise<T>((resolve) => resolve(call()));
  work.catch(() => {}); // a rejection after the deadline must not become an unhandled rejection
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function claimsOf(outcome: BackchannelOutcome): JsonObject | undefined {
  return 'claims' in outcome ? outcome.claims : undefined;
}

function errorFields(err: unknown): object {
  if (err instanceof Error) return { type: err.name, message: err.message, stack: err.stack };
  let message: string;
  try {
    message = String(err);
  } catch {
    message = '(unprintable)';
  }
  return { type: typeof err, message };
}

function emit(onEvent: RunHookOptions['onEvent'], logger: HookLogger, event: HookEvent): void {
  try {
    onEvent?.(event);
  } catch (err) {
    logger.error({ event: 'hook.audit_failed', err: errorFields(err) }, 'hook audit event could not be recorded');
  }
}
