// Benchmark child (a): Baton from src/server.ts with the in-memory store, one JWT (ES256) API and
// one client_credentials client (baton-config.ts; for bench/growth.ts, more clients, resources and
// authorizers: growth-fixture.ts). Listens on 127.0.0.1:BENCH_PORT; see server-ipc.ts.
import { validateConfig } from '../src/config/load.ts';
import { createBaton } from '../src/server.ts';
import { batonBenchConfig } from './baton-config.ts';
import { benchPort, serveBenchIpc } from './server-ipc.ts';

const port = benchPort();
const config = validateConfig(batonBenchConfig(port), 'bench config');

// BENCH_BATON_LEAN=0: the full Koa pipeline instead of the lean token path (src/http/lean-token.ts).
const baton = await createBaton(config, { keyReloadInterval: 0, leanTokenPath: process.env.BENCH_BATON_LEAN !== '0' });
await baton.listen(port, '127.0.0.1');
serveBenchIpc(config.issuer, () => baton.close());
