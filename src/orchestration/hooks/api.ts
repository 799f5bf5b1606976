// The `api` object a hook receives: upstream view (frozen), per-user session values, a store-backed
// cache namespaced per module, secrets (scrubbed from its logs) and a deadline-bounded fetch.
import { createHash } from 'node:crypto';

import { merged } from '../../lang/merged.ts';
import type { Store } from '../../storage/store.ts';
import { frozenCopy, toJson, type ShapeError } from './shape.ts';
import type { HookApi, JsonObject, JsonValue } from './types.ts';

/** The Store record kind of hook cache entries. */
export const HOOK_CACHE_KIND = 'hook-cache';

/** Minimal logger: a pino `Logger` fits. */
export interface HookLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Per-user values hooks carry from one hook to the next (`api.session`). Baton owns the persistence:
 * create it from the stored values, and store `toJSON()` again when `changed`.
 */
export class HookSession {
  readonly #values = new Map<string, JsonValue>();
  #changed = false;

  constructor(initial: Readonly<Record<string, unknown>> = {}) {
    for (const [key, value] of Object.entries(initial)) if (value !== undefined) this.#values.set(key, toJson(value, `session.${key}`));
  }

  /** A copy of the value (mutating it changes nothing stored). */
  get(key: string): unknown {
    const value = this.#values.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  /** Stores a JSON value; `undefined` removes the key. Throws a TypeError for anything else. */
  set(key: string, value: unknown): void {
    checkKey(key, 'session');
    if (value === undefined) {
      if (this.#values.delete(key)) this.#changed = true;
      return;
    }
    this.#values.set(key, asJson(value, `session.${key}`));
    this.#changed = true;
  }

  get changed(): boolean {
    return this.#changed;
  }

  toJSON(): JsonObject {
    return Object.fromEntries(this.#values);
  }
}

export interface HookApiOptions {
  readonly store: Store;
  readonly logger: HookLogger;
  /** The module's secrets (name -> value). */
  readonly secrets?: Readonly<Record<string, string>>;
  readonly upstream?: HookApi['upstream'];
  readonly session: HookSession;
  /** Stable id of the module (its configured path): namespaces the cache, tags the logs. */
  readonly moduleId: string;
  /** The hook deadline: bounds every `api.fetch`. */
  readonly timeoutMs: number;
  /** What `api.fetch` calls once the deadline signal is added: the global fetch unless a test plays the network. */
  readonly fetch?: typeof fetch;
}

interface Internals {
  /** Replaces secret and upstream token values in anything about to be logged. */
  readonly scrub: (value: unknown) => unknown;
  /** Aborts every fetch still running (the runner calls it when a hook times out). */
  readonly abort: () => void;
  /** Whether `err` (or its cause) is an api.fetch failure caused by the deadline. */
  readonly isDeadline: (err: unknown) => boolean;
}

const internals = new WeakMap<HookApi, Internals>();

/** For the runner: the scrubber and abort switch of an api built here (identity and no-op otherwise). */
export function apiInternals(api: HookApi): Internals {
  return internals.get(api) ?? { scrub: (value) => value, abort: () => {}, isDeadline: () => false };
}

/** Builds the `api` a hook receives. One per request and module is the intended granularity. */
export function createHookApi(options: HookApiOptions): HookApi {
  const { store, logger, session, moduleId, timeoutMs } = options;
  // The global fetch is looked up at each call, as before, so a test stubbing it later still sees its calls.
  const send: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  const upstream = options.upstream && frozenCopy(options.upstream);
  const hidden = [...secrets.values(), upstream?.tokens.accessToken, upstream?.tokens.idToken].filter((v): v is string => !!v);
  const scrub = (value: unknown): unknown => redact(value, hidden, 0);
  const aborter = new AbortController();
  const namespace = createHash('sha256').update(moduleId).digest('base64url').slice(0, 16);

  const log = (level: keyof HookLogger) => (obj: object, msg?: string) => {
    // JavaScript hooks may log a bare message or an Error: both become ordinary fields.
    const bare = typeof obj === 'string' && msg === undefined;
    const fields = bare ? {} : obj instanceof Error ? { err: obj } : obj !== null && typeof obj === 'object' ? obj : { value: obj };
    const text = bare ? (obj as string) : msg;
    logger[level](merged(scrub(fields) as object, { hookModule: moduleId }), text === undefined ? undefined : String(scrub(text)));
  };

  const deadlineErrors = new WeakSet<object>();
  const boundedFetch: typeof fetch = async (input, init) => {
    const own = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const deadline = AbortSignal.any([AbortSignal.timeout(timeoutMs), aborter.signal]);
    try {
      return await send(input, merged(init, { signal: own ? AbortSignal.any([deadline, own]) : deadline }));
    } catch (err) {
      if (deadline.aborted && err !== null && typeof err === 'object') deadlineErrors.add(err);
      throw err;
    }
  };

  const api: HookApi = Object.freeze({
    session: Object.freeze({ get: (key: string) => session.get(key), set: (key: string, value: unknown) => session.set(key, value) }),
    cache: Object.freeze({
      async get(key: string): Promise<unknown> {
        checkKey(key, 'cache');
        return (await store.getRecord<{ v: JsonValue }>(HOOK_CACHE_KIND, `${namespace}:${key}`))?.value.v;
      },
      async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
        checkKey(key, 'cache');
        if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new TypeError('cache.set: ttlSeconds must be a positive number');
        await store.putRecord(HOOK_CACHE_KIND, `${namespace}:${key}`, { v: asJson(value, `cache.${key}`) }, { expiresIn: Math.ceil(ttlSeconds) });
      },
    }),
    secrets: Object.freeze({ get: (name: string) => secrets.get(name) }),
    logger: Object.freeze({ info: log('info'), warn: log('warn'), error: log('error') }),
    fetch: boundedFetch,
    ...(upstream ? { upstream } : {}),
  });
  const isDeadline = (err: unknown): boolean =>
    err !== null && typeof err === 'object' && (deadlineErrors.has(err) || ('cause' in err && isDeadline(err.cause)));
  internals.set(api, { scrub, abort: () => aborter.abort(new Error('hook deadline passed')), isDeadline });
  return api;
}

function redact(value: unknown, hidden: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return hidden.reduce((s, secret) => s.replaceAll(secret, '[redacted]'), value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((v) => redact(v, hidden, depth + 1));
  if (value instanceof Error) return { type: value.name, message: redact(value.message, hidden, depth + 1), stack: redact(value.stack, hidden, depth + 1) };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, hidden, depth + 1)]));
}

function checkKey(key: unknown, where: string): void {
  if (typeof key !== 'string' || key === '' || key.length > 256 || key === '__proto__') {
    throw new TypeError(`${where}: the key must be a non-empty string of at most 256 characters`);
  }
}

function asJson(value: unknown, path: string): JsonValue {
  try {
    return toJson(value, path);
  } catch (err) {
    throw new TypeError((err as ShapeError).message);
  }
}
