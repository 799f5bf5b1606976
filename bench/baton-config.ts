// The configuration of the benchmark's Baton (baton-server.ts, and baton-dist-server.mjs, which gets it
// as JSON): in-memory store, one JWT (ES256) API, one client_credentials client, plus what
// growth-fixture.ts adds (more clients, resources and authorizers).
import { CLIENT_ID, CLIENT_SECRET, RESOURCE, TOKEN_TTL } from './fixture.ts';
import { extraClients, extraResources, growth, namespace, resourceScopes } from './growth-fixture.ts';

/** The raw configuration (as a YAML file would give it) of a Baton listening on 127.0.0.1:`port`. */
export function batonBenchConfig(port: number): Record<string, unknown> {
  const g = growth();
  return {
    issuer: `http://127.0.0.1:${port}`,
    server: { host: '127.0.0.1', port, shutdownGracePeriod: 1 },
    storage: { type: 'memory' },
    keys: { masterSecret: 'bench-master-secret-0123456789abcdefghij', signing: ['ES256'] },
    ttl: { clientCredentials: TOKEN_TTL },
    logging: { level: process.env.BENCH_BATON_LOG_LEVEL ?? 'info' },
    resources: [
      ...extraResources(g).map((id) => ({ id, scopes: ['read'], accessTokenFormat: 'jwt' })),
      { id: RESOURCE, scopes: resourceScopes(g), accessTokenFormat: 'jwt' },
    ],
    authorizers: (g.authorizers ?? []).map((url, i) => ({ id: `a${i}`, url, namespace: namespace(i), cacheTTL: 0 })),
    clients: [
      ...extraClients(g).map((c) => ({ ...c, grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', resources: [{ id: RESOURCE }] })),
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_basic',
        resources: [...extraResources(g).map((id) => ({ id })), { id: RESOURCE }],
      },
    ],
  };
}
