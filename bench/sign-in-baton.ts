// Benchmark child of bench/sign-in.ts: Baton (createBaton, in-memory store, ES256) brokering to the
// upstream at BENCH_UPSTREAM, with one confidential app allowed a JWT API. Listens on 127.0.0.1:BENCH_PORT.
import { benchPort, serveBenchIpc } from './server-ipc.ts';
import { API, APP, APP_REDIRECT, APP_SECRET, UPSTREAM_CLIENT, UPSTREAM_ID, UPSTREAM_SECRET } from './sign-in-parts.ts';
import { batonModule } from './support.ts';

// BENCH_BATON=dist: the compiled build, as installed (support.ts); else the sources under tsx.
const { validateConfig } = await import(batonModule('config/load')) as typeof import('../src/config/load.ts');
const { createBaton } = await import(batonModule('server')) as typeof import('../src/server.ts');

const port = benchPort();
const upstream = process.env.BENCH_UPSTREAM;
if (!upstream) throw new Error('BENCH_UPSTREAM must be set by bench/sign-in.ts');
const config = validateConfig({
  issuer: `http://127.0.0.1:${port}`,
  server: { host: '127.0.0.1', port, shutdownGracePeriod: 1 },
  storage: { type: 'memory' },
  keys: { masterSecret: 'bench-master-secret-0123456789abcdefghij', signing: ['ES256'] },
  logging: { level: process.env.BENCH_BATON_LOG_LEVEL ?? 'info' },
  upstreams: [{ id: UPSTREAM_ID, issuer: upstream, clientId: UPSTREAM_CLIENT, clientSecret: UPSTREAM_SECRET, timeout: '5s' }],
  resources: [{ id: API, scopes: ['read'], accessTokenFormat: 'jwt' }],
  clients: [{ client_id: APP, client_secret: APP_SECRET, redirect_uris: [APP_REDIRECT], resources: [{ id: API }] }],
}, 'sign-in bench config');

const baton = await createBaton(config, { keyReloadInterval: 0 });
await baton.listen(port, '127.0.0.1');
serveBenchIpc(config.issuer, () => baton.close());
