// The configured upstreams as connectors, by id.
import type { BatonConfig } from '../config/schema.ts';
import type { Connector } from './connector.ts';
import { OAuth2Connector } from './oauth2-connector.ts';
import { OidcConnector } from './oidc-connector.ts';
import { resolveUpstream, type ResolvedUpstream } from './resolve.ts';

export type { Connector, UpstreamIdentity, UpstreamTokens } from './connector.ts';
export { canRefresh, canRevoke, UpstreamError } from './connector.ts';

export interface Upstreams {
  readonly all: readonly Connector[];
  get(id: string): Connector | undefined;
  settings(id: string): ResolvedUpstream | undefined;
}

/** `instrument` wraps each connector (metrics and tracing of its upstream calls). */
export function createUpstreams(config: BatonConfig, instrument: (connector: Connector) => Connector = (c) => c): Upstreams {
  const settings = new Map<string, ResolvedUpstream>();
  const connectors = new Map<string, Connector>();
  for (const entry of config.upstreams) {
    const { upstream } = resolveUpstream(entry);
    // The loader already refused configurations with problems; nothing unresolved reaches here.
    if (!upstream) throw new Error(`upstream ${entry.id} is not resolvable`);
    settings.set(upstream.id, upstream);
    connectors.set(upstream.id, instrument(upstream.type === 'oauth2' ? new OAuth2Connector(upstream) : new OidcConnector(upstream)));
  }
  return {
    all: [...connectors.values()],
    get: (id) => connectors.get(id),
    settings: (id) => settings.get(id),
  };
}
