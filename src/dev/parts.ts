// What the demo's components take from the demo configuration (examples/dev/baton.yaml), so the
// IdP registers exactly the client Baton uses there, the APIs check the audiences Baton mints for,
// and the app signs in with the client Baton knows. A file edited past recognition fails clearly.
import type { BatonConfig, ClientConfig, ResourceConfig, UpstreamConfig } from '../config/schema.ts';
import type { AuthorizerConfig } from '../config/orchestration.ts';

export const IDS = {
  upstream: 'contoso',
  app: 'demo-app',
  device: 'demo-device',
  authorizer: 'orders',
  orders: 'https://orders.api.localhost',
  shipping: 'https://shipping.api.localhost',
} as const;

export interface DemoParts {
  readonly upstream: UpstreamConfig & { readonly client_secret: string };
  readonly app: ClientConfig & { readonly client_secret: string };
  readonly device: ClientConfig;
  readonly authorizer: AuthorizerConfig;
  readonly orders: ResourceConfig;
  readonly shipping: ResourceConfig;
}

export function demoParts(config: BatonConfig): DemoParts {
  const missing: string[] = [];
  const find = <T>(list: readonly T[], match: (item: T) => boolean, what: string): T => {
    const found = list.find(match);
    if (!found) missing.push(what);
    return found as T;
  };
  const upstream = find(config.upstreams, (u) => u.id === IDS.upstream && u.client_secret !== undefined, `upstreams: "${IDS.upstream}" with a client_secret`);
  const app = find(config.clients, (c) => c.client_id === IDS.app && c.client_secret !== undefined, `clients: "${IDS.app}" with a client_secret`);
  const device = find(config.clients, (c) => c.client_id === IDS.device, `clients: "${IDS.device}"`);
  const authorizer = find(config.authorizers, (a) => a.id === IDS.authorizer, `authorizers: "${IDS.authorizer}"`);
  const orders = find(config.resources, (r) => r.id === IDS.orders, `resources: "${IDS.orders}"`);
  const shipping = find(config.resources, (r) => r.id === IDS.shipping, `resources: "${IDS.shipping}"`);
  if (missing.length > 0) throw new Error(`the demo configuration lacks what baton dev runs on:\n  ${missing.join('\n  ')}`);
  return { upstream, app, device, authorizer, orders, shipping } as DemoParts;
}
