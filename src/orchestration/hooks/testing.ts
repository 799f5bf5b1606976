// The hook test kit: run one hook of a module in a unit test, without a running Baton, through the
// real loader checks and the real runner (frozen context, deadline, result checks, reserved claims
// removed), with an in-memory api whose logs, cache writes, session and fetches the test can read.
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { merged } from '../../lang/merged.ts';
import { MemoryStore } from '../../storage/memory/memory-store.ts';
import type { PutRecordOptions } from '../../storage/store.ts';
import { HOOK_CACHE_KIND, HookSession, createHookApi, type HookLogger } from './api.ts';
import { checkHooks, loadHooks, type LoadedHooks } from './loader.ts';
import { type HookEvent, type HookInput, type HookOutputs, runHook } from './runner.ts';
import { testContext, type HookTestContext } from './testing-context.ts';
import type { HookApi, HookName, Hooks, JsonObject, JsonValue } from './types.ts';

export { HookError, type HookFailureKind, type HookOutputs } from './runner.ts';
export { HookLoadError } from './loader.ts';
export { TEST_USER, type HookTestContext } from './testing-context.ts';

/**
 * The module under test: a path (relative paths are resolved against `options.baseDir`, default the
 * working directory), a `file:` URL, or an imported module (`import * as hooks from './web.ts'`, or
 * a `defineHooks({...})` object). Either way its exports are checked as Baton checks them at startup.
 */
export type HookModule = string | URL | Hooks | Readonly<Record<string, unknown>>;

/** One line written through `api.logger`, or by the runner (`hook.failed`, `hook.reserved_claims`). */
export interface HookLogLine {
  readonly level: 'info' | 'warn' | 'error';
  /** The fields as Baton would log them: secrets already `[redacted]`, `hookModule` added. */
  readonly fields: Readonly<Record<string, unknown>>;
  readonly msg?: string;
}

/** A request the hook sent through `api.fetch`. */
export interface FetchedRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text; undefined for GET and HEAD. */
  readonly body?: string;
}

/**
 * Everything is optional: the defaults are an empty session, cache and secrets, and no network.
 * @example
 * const options: HookTestOptions = {
 *   secrets: { hrToken: 'test-token' },
 *   session: { tenant: 'acme' },
 *   fetch: (request) => (request.url.endsWith('/ann') ? Response.json({ roles: ['buyer'] }) : new Response(null, { status: 404 })),
 * };
 */
export interface HookTestOptions {
  /** The module's secrets (name -> value), as under `hooks.secrets` in the configuration. Scrubbed from logs. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** `api.session` values the hook starts with (what earlier hooks of the sign-in set). */
  readonly session?: Readonly<Record<string, unknown>>;
  /** `api.cache` entries present before the hook runs (key -> JSON value). */
  readonly cache?: Readonly<Record<string, unknown>>;
  /** `api.upstream`: the upstream sign-in the hook may read; absent by default. */
  readonly upstream?: HookApi['upstream'];
  /**
   * Plays the services the hook calls through `api.fetch`. The request carries the deadline as its
   * `signal`. Without it, any `api.fetch` fails (the hook then fails as `threw`): unit tests never
   * reach the network by accident.
   */
  readonly fetch?: (request: Request) => Response | Promise<Response>;
  /** The hook's deadline in milliseconds; default 1000 (the configuration's default `timeout: 1s`). */
  readonly timeoutMs?: number;
  /** Folder a relative module path is resolved against; default `process.cwd()`. */
  readonly baseDir?: string;
  /** The module id in logs, events and HookError; default the path as given, or `hooks-under-test`. */
  readonly moduleId?: string;
  /** Log lines are appended here as they are written, so a test can read them when the hook fails too. */
  readonly logs?: HookLogLine[];
}

/**
 * What a hook run yields: the checked output and what the hook did through `api`.
 * @example
 * const { output, cached, fetched } = await runHookForTest(hooks, 'loadAttrs', {}, options);
 * expect(cached['hr:example:alice']?.ttlSeconds).toBe(300);
 */
export interface HookTestResult<N extends HookName> {
  /** The result as Baton uses it: checked, copied, normalised (`isAuthorized` -> `{ allow }`), reserved claims removed. */
  readonly output: HookOutputs[N];
  /** Reserved claims the hook tried to set (removed from `output`; Baton logs a warning). */
  readonly droppedClaims: readonly string[];
  readonly logs: readonly HookLogLine[];
  /** What the hook stored with `api.cache.set` during this run. */
  readonly cached: Readonly<Record<string, { readonly value: JsonValue; readonly ttlSeconds: number }>>;
  /** Every `api.session` value after the run (the starting values included). */
  readonly session: JsonObject;
  /** Whether the hook set or removed a session value (only then does Baton save the session). */
  readonly sessionChanged: boolean;
  readonly fetched: readonly FetchedRequest[];
  readonly latencyMs: number;
}

/**
 * Runs hook `hook` of a module as Baton does, against a context built from test defaults and
 * `context`, and an in-memory `api`. Resolves with the checked output and what the hook logged,
 * cached, kept in its session and fetched; rejects with the `HookError` Baton would raise (`kind`:
 * `threw`, `timeout` or `bad-shape`), or a `HookLoadError` for a module Baton would refuse to load.
 *
 * @example
 * import { expect, it } from 'vitest';
 * import { HookError, runHookForTest } from 'baton/hooks/testing';
 * import * as hooks from './web.ts';
 *
 * it('gives roles to the Orders API only', async () => {
 *   const { output } = await runHookForTest(hooks, 'buildAccessTokenClaims', {
 *     resource: 'https://orders.api.example',
 *     user: { attrs: { roles: ['buyer'] } },
 *   });
 *   expect(output).toEqual({ roles: ['buyer'], via: 'authorization_code' });
 * });
 *
 * it('fails when the HR service is down', async () => {
 *   const failed = runHookForTest(hooks, 'loadAttrs', {}, { fetch: () => new Response('', { status: 503 }) });
 *   await expect(failed).rejects.toMatchObject({ kind: 'threw', hook: 'loadAttrs' });
 *   await expect(failed).rejects.toBeInstanceOf(HookError);
 * });
 */
export async function runHookForTest<N extends HookName>(
  module: HookModule,
  hook: N,
  context: HookTestContext<N>,
  options: HookTestOptions = {},
): Promise<HookTestResult<N>> {
  const loaded = await load(module, options);
  if (typeof loaded.hooks[hook] !== 'function') throw new TypeError(`runHookForTest: ${loaded.module} has no ${hook} hook (it has ${Object.keys(loaded.hooks).join(', ')})`);
  const timeoutMs = options.timeoutMs ?? 1000;
  const logs = options.logs ?? [];
  const logger = recordingLogger(logs);
  const fetched: FetchedRequest[] = [];
  const store = new RecordingStore();
  const session = new HookSession(options.session ?? {});
  const api = createHookApi({
    store,
    logger,
    session,
    moduleId: loaded.module,
    timeoutMs,
    ...(options.secrets ? { secrets: options.secrets } : {}),
    ...(options.upstream ? { upstream: options.upstream } : {}),
    fetch: fakeFetch(options.fetch, fetched),
  });
  for (const [key, value] of Object.entries(options.cache ?? {})) await api.cache.set(key, value, 3600);
  store.recording = true;

  let ran: HookEvent | undefined;
  const output = await runHook(loaded, hook, testContext(hook, context) as HookInput<N>, api, {
    timeoutMs,
    logger,
    onEvent: (event) => void (ran = event),
  });
  const event = ran as Extract<HookEvent, { type: 'hook.ran' }>;
  return {
    output,
    droppedClaims: event.droppedClaims ?? [],
    logs: [...logs],
    cached: Object.fromEntries(store.written),
    session: session.toJSON(),
    sessionChanged: session.changed,
    fetched,
    latencyMs: event.latencyMs,
  };
}

async function load(module: HookModule, options: HookTestOptions): Promise<LoadedHooks> {
  if (typeof module === 'string' || module instanceof URL) {
    const path = module instanceof URL ? fileURLToPath(module) : resolve(options.baseDir ?? process.cwd(), module);
    const loaded = await loadHooks(path, options.baseDir ?? process.cwd());
    const id = options.moduleId ?? (typeof module === 'string' ? module : basename(path));
    return Object.freeze(merged(loaded, { module: id }));
  }
  return checkHooks(module as Readonly<Record<string, unknown>>, options.moduleId ?? 'hooks-under-test');
}

function recordingLogger(lines: HookLogLine[]): HookLogger {
  const at = (level: HookLogLine['level']) => (fields: object, msg?: string) => {
    lines.push({ level, fields: fields as Record<string, unknown>, ...(msg === undefined ? {} : { msg }) });
  };
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

/** The fetch under `api.fetch` (which adds the deadline): records, then asks the test's stand-in. */
function fakeFetch(play: HookTestOptions['fetch'], fetched: FetchedRequest[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.clone().text();
    fetched.push({ url: request.url, method: request.method, headers: Object.fromEntries(request.headers), ...(body === undefined ? {} : { body }) });
    if (!play) throw new Error(`runHookForTest: the hook called fetch(${request.method} ${request.url}) but no \`fetch\` option plays that service`);
    return play(request);
  };
}

/** Baton's in-memory store, noting the hook cache entries written once the test's own are in. */
class RecordingStore extends MemoryStore {
  recording = false;
  readonly written = new Map<string, { value: JsonValue; ttlSeconds: number }>();

  override async putRecord<T>(kind: string, id: string, value: T, options?: PutRecordOptions): Promise<boolean> {
    if (this.recording && kind === HOOK_CACHE_KIND) {
      // api.ts stores `{ v }` under `{module namespace}:{key}`.
      this.written.set(id.slice(id.indexOf(':') + 1), { value: structuredClone((value as { v: JsonValue }).v), ttlSeconds: options?.expiresIn ?? 0 });
    }
    return super.putRecord(kind, id, value, options);
  }
}
