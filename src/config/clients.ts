// A client's configuration by id, in one lookup whatever the number of clients (issue 16: cost per
// request flat as clients grow). A configuration is deeply frozen once loaded (load.ts), so its
// index is built once per configuration object and never goes stale.
import type { BatonConfig, ClientConfig } from './schema.ts';

const indexes = new WeakMap<BatonConfig['clients'], ReadonlyMap<string, ClientConfig>>();

/** The configured client with this id, or undefined. */
export function clientConfig(config: Pick<BatonConfig, 'clients'>, clientId: string | undefined): ClientConfig | undefined {
  if (clientId === undefined) return undefined;
  let index = indexes.get(config.clients);
  if (!index) indexes.set(config.clients, index = new Map(config.clients.map((c) => [c.client_id, c])));
  return index.get(clientId);
}
