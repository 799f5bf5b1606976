// What an offline evaluation (`baton preview`, `baton replay`) runs with, assembled as server.ts
// assembles it: the configuration's hook modules, its authorizers (real calls, signed with the key
// Baton signs with), its resource policy and upstream connectors. Every state they write (accounts,
// api.session, the decision cache) goes to a memory store: nothing is written to the production store.
import pino from 'pino';

import type { BatonConfig } from '../config/schema.ts';
import { KeyStore } from '../keys/key-store.ts';
import { ensureAlgorithms, type KeySet } from '../keys/keyset.ts';
import { resolveMasterSecret } from '../keys/master-secret.ts';
import { keyActivationDelay, keyRetention } from '../keys/policy.ts';
import { deriveKey } from '../keys/seal.ts';
import { Authorizers } from '../orchestration/authorizers/index.ts';
import { HookPoints } from '../orchestration/hook-points.ts';
import { requestSigner } from '../orchestration/request-signer.ts';
import { ResourcePolicy } from '../provider/resources.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import type { Store } from '../storage/store.ts';
import { createUpstreams, type Upstreams } from '../upstream/index.ts';
import { IdTokenClaims } from './offline-claims.ts';

/** Who decides the authorizers' scopes in an evaluation: the real fan-out, or answers recorded in a trace. */
export type ScopeAuthority = Pick<Authorizers, 'concerns' | 'decide'>;

export interface Evaluator {
  readonly config: BatonConfig;
  /** The evaluation's own state (a memory store), never the production store. */
  readonly store: Store;
  readonly hooks: HookPoints;
  readonly authorizers?: ScopeAuthority;
  readonly resources: ResourcePolicy;
  readonly upstreams: Upstreams;
  readonly idTokens: IdTokenClaims;
  /** Epoch ms. */
  readonly clock: () => number;
}

export interface EvaluatorOptions {
  /** Directory hook module paths are resolved from (the configuration file's). */
  readonly configDir: string;
  /** The key set that signs authorizer requests (see signingKeys); a throwaway one when absent. */
  readonly keys?: KeySet;
  readonly clock?: () => number;
}

/** Loads the hook modules and builds the authorizers of `config`; throws when a module cannot load. */
export async function createEvaluator(config: BatonConfig, options: EvaluatorOptions): Promise<Evaluator> {
  const clock = options.clock ?? Date.now;
  const store = new MemoryStore({ clock });
  const logger = pino({ level: 'silent' });
  const hooks = await HookPoints.load(config, options.configDir, { store, logger });
  const keys = options.keys ?? await ensureAlgorithms({ keys: [] }, config.keys.signing, Math.floor(clock() / 1000) - keyActivationDelay(config));
  const authorizers = config.authorizers.length === 0 ? undefined : new Authorizers(config.authorizers, {
    sign: requestSigner(config.issuer, config.keys.signing[0]!, () => keys, clock),
    store,
    logger,
    clock,
  });
  return {
    config, store, hooks, clock,
    ...(authorizers ? { authorizers } : {}),
    resources: new ResourcePolicy(config),
    upstreams: createUpstreams(config),
    idTokens: new IdTokenClaims(config.issuer),
  };
}

/**
 * The key set stored by the running Baton (read, never written), so authorizers verifying Baton's
 * JWKS accept the evaluation's requests; undefined when the store holds none (memory storage, a
 * new database) or the master secret is not available.
 */
export async function signingKeys(config: BatonConfig, store: Store): Promise<KeySet | undefined> {
  let sealKey: Buffer;
  try {
    sealKey = deriveKey(resolveMasterSecret(config).value, 'keyset-at-rest');
  } catch {
    return undefined;
  }
  return new KeyStore({ store, sealKey, algorithms: config.keys.signing, retention: keyRetention(config), clock: Date.now }).read();
}
