// The configured hook modules (per client, and the provider-level one for userinfo), loaded once at
// startup, and the one way the flows run a hook: with a frozen context, a per-call api, the
// module's deadline, and every run and failure reported as an event.
import type { BatonConfig, HooksConfig } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Store } from '../storage/store.ts';
import {
  createHookApi, hasHook, HookSession, loadHooks, runHook,
  type HookApi, type HookEvent, type HookInput, type HookName, type HookOutputs, type LoadedHooks,
} from './hooks/index.ts';

const PROVIDER_LEVEL: ReadonlySet<HookName> = new Set(['buildUserInfoClaims']);
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
  /** Every hook run and failure (metrics). */
  readonly onEvent?: (event: HookEvent) => void;
}

export interface HookCallParts {
  readonly upstream?: HookApi['upstream'];
  /** Per-user attributes carried between hooks (JSON). */
  readonly session?: Record<string, unknown>;
}

export class HookPoints {
  readonly #clients: ReadonlyMap<string, Module>;
  readonly #provider?: Module;
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #onEvent?: (event: HookEvent) => void;

  private constructor(clients: Map<string, Module>, provider: Module | undefined, deps: HookPointsDeps) {
    this.#clients = clients;
    this.#provider = provider;
    this.#store = deps.store;
    this.#logger = deps.logger;
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
    return new HookPoints(clients, provider, deps);
  }

  has(clientId: string | undefined, name: HookName): boolean {
    return hasHook(this.#module(clientId, name)?.loaded, name);
  }

  /** Runs a hook the caller checked with `has`; rejects with a HookError on failure. */
  async run<N extends HookName>(clientId: string | undefined, name: N, ctx: HookInput<N>, parts: HookCallParts = {}): Promise<HookOutputs[N]> {
    const module = this.#module(clientId, name);
    if (!module) throw new Error(`no ${name} hook for ${clientId ?? 'the provider'}`);
    const timeoutMs = module.config.timeout * 1000;
    const api = createHookApi({
      store: this.#store,
      logger: this.#logger,
      secrets: module.config.secrets,
      upstream: parts.upstream,
      session: new HookSession(parts.session ?? {}),
      moduleId: module.loaded.module,
      timeoutMs,
    });
    return runHook(module.loaded, name, ctx, api, {
      timeoutMs,
      logger: this.#logger,
      onEvent: (event) => {
        this.#logger.info({ ...event, event: event.type, clientId }, event.type === 'hook.ran' ? 'hook ran' : 'hook failed');
        this.#onEvent?.(event);
      },
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
