// One served passthrough issuer per `passthrough[]` entry, assembled once at startup (its discovery
// cache, wrapped refresh tokens and signer survive provider rebuilds), and what every endpoint
// needs from the rest of Baton.
import type { BatonConfig, PassthroughConfig, SigningAlgorithm } from '../config/schema.ts';
import { RotationRecords } from '../grants/refresh-rotation.ts';
import type { KeySet } from '../keys/keyset.ts';
import type { Logger } from '../observability/logger.ts';
import type { Events } from '../observability/events.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Authorizers } from '../orchestration/authorizers/index.ts';
import { passthroughHookKey, type HookPoints } from '../orchestration/hook-points.ts';
import type { Store } from '../storage/store.ts';
import { canVerify, type Connector, type IdTokenVerifyCapable } from '../upstream/connector.ts';
import type { Upstreams } from '../upstream/index.ts';
import type { ResolvedUpstream } from '../upstream/resolve.ts';
import { UpstreamDiscovery } from './discovery.ts';
import { Minter } from './mint.ts';
import { refreshTokens, type RefreshTokens } from './refresh-token.ts';

export interface PassthroughDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly logger: Logger;
  readonly upstreams: Upstreams;
  readonly hooks: HookPoints;
  readonly authorizers?: Authorizers;
  readonly metrics?: Metrics;
  /** Sign-ins, issued tokens and refusals (audit log). */
  readonly events?: Events;
  /** Baton's current signing keys (they rotate under a running server). */
  readonly keys: () => KeySet;
  /** Derived from the master secret for passthrough refresh tokens only. */
  readonly secret: Buffer;
  /** Epoch milliseconds. */
  readonly clock: () => number;
}

export interface PassthroughResource {
  readonly id: string;
  readonly audience: string;
  readonly scopes: readonly string[];
  /** Seconds. */
  readonly ttl: number;
  readonly signingAlg?: SigningAlgorithm;
}

export interface PassthroughEntry {
  readonly config: PassthroughConfig;
  /** `{issuer}/passthrough/{id}`. */
  readonly issuer: string;
  readonly hookKey: string;
  readonly clients: ReadonlySet<string>;
  readonly connector: Connector & IdTokenVerifyCapable;
  readonly settings: ResolvedUpstream;
  readonly discovery: UpstreamDiscovery;
  readonly refreshTokens: RefreshTokens;
  /** The rotation lease and reuse grace records, shared with Baton's own refresh tokens. */
  readonly rotations: RotationRecords;
  readonly minter: Minter;
  readonly signingAlg: SigningAlgorithm;
  readonly resource?: PassthroughResource;
}

export interface Passthroughs {
  readonly deps: PassthroughDeps;
  readonly entries: ReadonlyMap<string, PassthroughEntry>;
}

export function createPassthroughs(deps: PassthroughDeps): Passthroughs {
  const { config } = deps;
  const entries = new Map<string, PassthroughEntry>();
  for (const entry of config.passthrough) {
    const connector = deps.upstreams.get(entry.upstream);
    const settings = deps.upstreams.settings(entry.upstream);
    // The loader refused unknown and oauth2 upstreams; nothing else reaches here.
    if (!connector || !settings || !canVerify(connector)) throw new Error(`passthrough ${entry.id}: upstream ${entry.upstream} cannot verify id_tokens`);
    const issuer = `${config.issuer}/passthrough/${entry.id}`;
    const signingAlg = entry.signingAlg ?? (config.keys.signing.includes('RS256') ? 'RS256' : config.keys.signing[0]!);
    entries.set(entry.id, {
      config: entry,
      issuer,
      hookKey: passthroughHookKey(entry.id),
      clients: new Set(entry.clients),
      connector,
      settings,
      discovery: new UpstreamDiscovery({
        url: settings.discoveryUrl ?? `${settings.issuer}/.well-known/openid-configuration`,
        issuer: settings.issuer!,
        timeoutMs: settings.timeoutMs,
        refreshMs: entry.discoveryRefresh * 1000,
      }, deps.logger, deps.clock),
      refreshTokens: refreshTokens({ mode: entry.refreshTokens, issuer, ttl: entry.refreshTokenTTL ?? config.ttl.refreshToken, secret: deps.secret, store: deps.store, clock: deps.clock }),
      rotations: new RotationRecords(deps.store, deps.clock),
      minter: new Minter(deps.keys, signingAlg, deps.clock),
      signingAlg,
      resource: resourceOf(config, entry),
    });
  }
  return { deps, entries };
}

function resourceOf(config: BatonConfig, entry: PassthroughConfig): PassthroughResource | undefined {
  const resource = entry.resource && config.resources.find((r) => r.id === entry.resource!.id);
  if (!resource) return undefined;
  return {
    id: resource.id,
    audience: resource.audience ?? resource.id,
    scopes: entry.resource?.scopes ?? resource.scopes,
    ttl: resource.accessTokenTTL ?? config.ttl.accessToken,
    signingAlg: resource.signingAlg,
  };
}
