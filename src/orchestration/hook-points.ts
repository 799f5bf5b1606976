// The configured hook modules (per client, and the provider-level one for userinfo), loaded once at
// startup, and the one way the flows run a hook: with a frozen context, a per-call api, the
// module's deadline, every run and failure reported as an event, and `api.session` kept in the
// store per client and user between hook calls.
import type { BatonConfig, HooksConfig } from '../config/schema.ts';
import { summarizeHookInput, summarizeHookOutput } from '../explain/hook-summary.ts';
import { currentTrace } from '../explain/trace-context.ts';
import { merged } from '../lang/merged.ts';
import type { Logger } from '../observability/logger.ts';
import { currentRequestId } from '../observability/request-log.ts';
import { traced } from '../observability/tracing.ts';
import type { Store } from '../storage/store.ts';
import {
  createHookApi, hasHook, hookRequestId, HookSession, loadHooks, runHook,
  type HookApi, type HookEvent, type HookInput, type HookName, type HookOutputs, type LoadedHooks,
} from './hooks/index.ts';

const PROVIDER_LEVEL: ReadonlySet<HookName> = new Set(['buildUserInfoClaims']);
/** Record kind of `api.session` values, keyed by client id and user subject. */
export const HOOK_SESSION_KIND = 'hook-session';
/** Passthrough mints tokens but never sees the authorization request (it goes to the upstream). */
const PASSTHROUGH_HOOKS: ReadonlySet<HookName> = new Set(['loadAttrs', 'isAuthorized', 'buildIDTokenClaims', 'buildAccessTokenClaims']);

/** Whose hooks run for passthrough `id`: a key with a space, which no client id can be. */
export function passthroughHookKey(id: string): string {
  return `passthrough ${id}`;
}

interface Module {
  readonly loaded: LoadedHooks;
  readonly config: HooksConfig;
}

export interface HookPointsDeps {
  readonly store: Store;
  readonly logger: Logger;
  /** The `hook ran` line of each call: the access log's (buffered, flushed every second and on close); `logger` by default. */
  readonly requestLogger?: Logger;
  /** Every hook run and failure (metrics, audit), with the client whose hook it was and the request's id. */
  readonly onEvent?: (event: HookEvent, clientId: string | undefined, reqId: string | undefined) => void;
}

export interface HookCallParts {
  readonly upstream?: HookApi['upstream'];
}

export class HookPoints {
  readonly #clients: ReadonlyMap<string, Module>;
  readonly #provider?: Module;
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #requestLogger: Logger;
  readonly #onEvent?: HookPointsDeps['onEvent'];
  /** Seconds `api.session` values live after their last change: as long as a grant. */
  readonly #sessionTtl: number;

  private constructor(clients: Map<string, Module>, provider: Module | undefined, sessionTtl: number, deps: HookPointsDeps) {
    this.#clients = clients;
    this.#provider = provider;
    this.#sessionTtl = sessionTtl;
    this.#store = deps.store;
    this.#logger = deps.logger;
    this.#requestLogger = deps.requestLogger ?? deps.logger;
    this.#onEvent = deps.onEvent;
  }

  /** Loads every module named in the configuration; a module that cannot load stops the start. */
  static async load(config: BatonConfig, baseDir: string, deps: HookPointsDeps): Promise<HookPoints> {
    const clients = new Map<string, Module>();
    for (const client of config.clients) {
      if (!client.hooks) continue;
      const loaded = await loadHooks(client.hooks.module, baseDir);
      const misplaced = Object.keys(loaded.hooks).filter((name) => PROVIDER_LEVEL.has(name as HookName));
      if (misplaced.length > 0) throw new Error(`${client.hooks.module}: ${misplaced.join(', ')} is configured at the top level (hooks), not per client`);
      clients.set(client.client_id, { loaded, config: client.hooks });
    }
    for (const entry of config.passthrough) {
      if (!entry.hooks) continue;
      const loaded = await loadHooks(entry.hooks.module, baseDir);
      const misplaced = Object.keys(loaded.hooks).filter((name) => !PASSTHROUGH_HOOKS.has(name as HookName));
      if (misplaced.length > 0) throw new Error(`${entry.hooks.module}: ${misplaced.join(', ')} cannot run for passthrough ${entry.id} (only ${[...PASSTHROUGH_HOOKS].join(', ')})`);
      clients.set(passthroughHookKey(entry.id), { loaded, config: entry.hooks });
    }
    let provider: Module | undefined;
    if (config.hooks) {
      const loaded = await loadHooks(config.hooks.module, baseDir);
      const misplaced = Object.keys(loaded.hooks).filter((name) => !PROVIDER_LEVEL.has(name as HookName));
      if (misplaced.length > 0) throw new Error(`${config.hooks.module}: ${misplaced.join(', ')} is configured per client (clients[].hooks), not at the top level`);
      provider = { loaded, config: config.hooks };
    }
    return new HookPoints(clients, provider, config.ttl.grant, deps);
  }

  has(clientId: string | undefined, name: HookName): boolean {
    return hasHook(this.#module(clientId, name)?.loaded, name);
  }

  /** Runs a hook the caller checked with `has`; rejects with a HookError on failure. */
  async run<N extends HookName>(clientId: string | undefined, name: N, ctx: HookInput<N>, parts: HookCallParts = {}): Promise<HookOutputs[N]> {
    const module = this.#module(clientId, name);
    if (!module) throw new Error(`no ${name} hook for ${clientId ?? 'the provider'}`);
    const timeoutMs = module.config.timeout * 1000;
    const sub = (ctx as { user?: { sub?: unknown } }).user?.sub;
    const sessionId = typeof sub === 'string' ? `${clientId ?? '*'}:${sub}` : undefined;
    const stored = sessionId === undefined ? undefined : await this.#store.getRecord<Record<string, unknown>>(HOOK_SESSION_KIND, sessionId);
    const session = new HookSession(stored?.value ?? {});
    const api = createHookApi({
      store: this.#store,
      logger: this.#logger,
      secrets: module.config.secrets,
      upstream: parts.upstream,
      session,
      moduleId: module.loaded.module,
      timeoutMs,
    });
    const trace = currentTrace();
    // The hook's own context names the request (Baton's own routes and userinfo run outside the
    // provider's request context); the runner's error line and the lines below share it.
    const reqId = hookRequestId(ctx) ?? currentRequestId();
    let reported: HookEvent | undefined;
    return traced(`hook.${name}`, { 'baton.hook': name, 'baton.client_id': clientId ?? '' }, async () => {
      let output: HookOutputs[N];
      try {
        output = await runHook(module.loaded, name, ctx, api, {
          timeoutMs,
          logger: this.#logger,
          reqId,
          onEvent: (event) => {
            reported = event;
            // A run is a buffered line per call, its fields listed one by one (the access logger does
            // not redact); a failure goes out at once, beside the runner's error line.
            if (event.type === 'hook.ran') this.#requestLogger.info({ event: event.type, reqId, clientId, hook: event.hook, module: event.module, latencyMs: event.latencyMs, droppedClaims: event.droppedClaims }, 'hook ran');
            else this.#logger.info(merged(event, { event: event.type, clientId, reqId }), 'hook failed');
            this.#onEvent?.(event, clientId, reqId);
          },
        });
      } catch (err) {
        if (trace && reported?.type === 'hook.failed') {
          trace.step({ kind: 'hook', hook: name, module: module.loaded.module, latencyMs: reported.latencyMs, outcome: 'failed', failure: reported.kind, input: summarizeHookInput(ctx, parts.upstream !== undefined) });
          trace.refuse('server_error', `hook ${name} ${reported.kind}`, `hook:${name}`);
        }
        throw err;
      }
      if (trace) {
        const dropped = reported?.type === 'hook.ran' ? reported.droppedClaims : undefined;
        trace.step({
          kind: 'hook', hook: name, module: module.loaded.module, latencyMs: reported?.latencyMs ?? 0, outcome: 'ran',
          input: summarizeHookInput(ctx, parts.upstream !== undefined), output: summarizeHookOutput(output, trace), ...(dropped ? { droppedClaims: dropped } : {}),
        });
      }
      // Only a hook that completed saves what it set; last writer wins between concurrent flows.
      if (sessionId !== undefined && session.changed) {
        await this.#store.putRecord(HOOK_SESSION_KIND, sessionId, session.toJSON(), { expiresIn: this.#sessionTtl });
      }
      return output;
    });
  }

  #module(clientId: string | undefined, name: HookName): Module | undefined {
    return PROVIDER_LEVEL.has(name) ? this.#provider : clientId === undefined ? undefined : this.#clients.get(clientId);
  }
}

/** RFC 6749 section 5.2: error_description is printable ASCII without `"` and `\`. */
export function safeDescription(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ' ').slice(0, 300);
}

/** Authorization request parameters as hooks see them: strings only. */
export function stringParams(params: Readonly<Record<string, unknown>> | undefined): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(params ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
}
