// Benchmark child of bench/endpoints.ts: Baton from src/server.ts (in-memory store, ES256) with one
// confidential client allowed every grant measured, a JWT API, an opaque API and a trusted partner
// for token exchange (its JWKS at BENCH_PARTNER_JWKS). Listens on 127.0.0.1:BENCH_PORT
// (server-ipc.ts) and seeds codes and refresh tokens on request (endpoints-fixture.ts).
// BENCH_BATON=dist: Baton's modules from dist/ (`npm run build`), the compiled JavaScript the package
// ships; this file and its fixtures stay TypeScript, so tsx is still loaded (in the RSS, not per request).
// BENCH_BATON_FROM: Baton's modules from that directory instead (another tree's dist/ or src/).
import { writeFile } from 'node:fs/promises';

import type { AccountRecord } from '../src/provider/accounts.ts';
import {
  ACCOUNT_CLAIMS, ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, OPAQUE_RESOURCE, PARTNER, PARTNER_AUDIENCE, REDIRECT_URI, RESOURCE, SCOPES, servePrepare, TOKEN_EXCHANGE, TOKEN_TTL,
} from './endpoints-fixture.ts';
import { benchPort, serveBenchIpc } from './server-ipc.ts';
import { batonModule } from './support.ts';

// BENCH_BATON_FROM (set by the runner for BENCH_BASELINE): another tree's compiled dist/ or src/, for paired before/after runs.
const from = process.env.BENCH_BATON_FROM;
const { validateConfig } = (await import(batonModule('config/load', from))) as typeof import('../src/config/load.ts');
const { ACCOUNT_KIND } = (await import(batonModule('provider/accounts', from))) as typeof import('../src/provider/accounts.ts');
const { createBaton } = (await import(batonModule('server', from))) as typeof import('../src/server.ts');

const port = benchPort();
const jwksUri = process.env.BENCH_PARTNER_JWKS;
if (!jwksUri) throw new Error('BENCH_PARTNER_JWKS must be set by bench/endpoints.ts');
const config = validateConfig({
  issuer: `http://127.0.0.1:${port}`,
  server: { host: '127.0.0.1', port, shutdownGracePeriod: 1 },
  storage: { type: 'memory' },
  keys: { masterSecret: 'bench-master-secret-0123456789abcdefghij', signing: ['ES256'] },
  // Codes are seeded ahead of the measured slices: they must outlive the whole run.
  ttl: { clientCredentials: TOKEN_TTL, authorizationCode: '15m' },
  logging: { level: process.env.BENCH_BATON_LOG_LEVEL ?? 'info' },
  resources: [
    { id: RESOURCE, scopes: [...SCOPES], accessTokenFormat: 'jwt' },
    { id: OPAQUE_RESOURCE, scopes: [...SCOPES], accessTokenFormat: 'opaque' },
  ],
  tokenExchange: { trustedIssuers: [{ issuer: PARTNER, jwksUri, audiences: [PARTNER_AUDIENCE] }] },
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token', TOKEN_EXCHANGE],
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [REDIRECT_URI],
    resources: [{ id: RESOURCE }, { id: OPAQUE_RESOURCE }],
    tokenExchange: { subjectTokenTypes: ['jwt'], issuers: [PARTNER] },
  }],
}, 'endpoints bench config');

const baton = await createBaton(config, { keyReloadInterval: 0 });
await baton.store.putRecord<AccountRecord>(ACCOUNT_KIND, ACCOUNT_ID, { claims: { ...ACCOUNT_CLAIMS } });
servePrepare(baton.provider, (file, bodies) => writeFile(file, JSON.stringify(bodies)));
await baton.listen(port, '127.0.0.1');
serveBenchIpc(config.issuer, () => baton.close());
