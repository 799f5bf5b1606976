// Benchmark child (a): Baton from src/server.ts with the in-memory store, one JWT (ES256) API and
// one client_credentials client (for bench/growth.ts, more clients, resources and authorizers:
// growth-fixture.ts). Listens on 127.0.0.1:BENCH_PORT; see server-ipc.ts.
import { validateConfig } from '../src/config/load.ts';
import { createBaton } from '../src/server.ts';
import { CLIENT_ID, CLIENT_SECRET, RESOURCE, TOKEN_TTL } from './fixture.ts';
import { extraClients, extraResources, growth, namespace, resourceScopes } from './growth-fixture.ts';
import { benchPort, serveBenchIpc } from './server-ipc.ts';

const port = benchPort();
const g = growth();
const config = validateConfig({
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
}, 'bench config');

// BENCH_BATON_LEAN=0: the full Koa pipeline instead of the lean token path (src/http/lean-token.ts).
const baton = await createBaton(config, { keyReloadInterval: 0, leanTokenPath: process.env.BENCH_BATON_LEAN !== '0' });
await baton.listen(port, '127.0.0.1');
serveBenchIpc(config.issuer, () => baton.close());
