// Where the CPU of the user grants goes (issue 16): Baton in this process (memory store, one web
// client, one JWT API), codes seeded through the provider's own models as a brokered sign-in leaves
// them, then code redemptions and refreshes over HTTP on 127.0.0.1 with a few in flight. Prints the
// process CPU per request (the client's side included: compare runs, not absolute values). For a
// profile: node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/profile-user-grants.ts, then
// bench/profile-summary.ts. Env: BENCH_CODES (400), BENCH_IN_FLIGHT (8), BENCH_LOG_LEVEL (info).
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';

import { validateConfig } from '../src/config/load.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../src/provider/accounts.ts';
import { createBaton } from '../src/server.ts';
import { envNumber, freePort } from './support.ts';

const CODES = envNumber('BENCH_CODES', 400);
const IN_FLIGHT = envNumber('BENCH_IN_FLIGHT', 8);
const API = 'https://api.bench.example';
const REDIRECT = 'https://web.bench.example/callback';
const SECRET = 'web-bench-secret-0123456789abcdefghij';

const port = await freePort();
const config = validateConfig({
  issuer: `http://127.0.0.1:${port}`,
  storage: { type: 'memory' },
  keys: { masterSecret: 'bench-master-secret-0123456789abcdefghij', signing: ['ES256'] },
  logging: { level: process.env.BENCH_LOG_LEVEL ?? 'info' },
  resources: [{ id: API, scopes: ['read', 'write'], accessTokenFormat: 'jwt' }],
  clients: [{ client_id: 'web', client_secret: SECRET, redirect_uris: [REDIRECT], resources: [{ id: API }] }],
}, 'profile config');
const baton = await createBaton(config, { keyReloadInterval: 0, accessLogger: (await import('../src/observability/logger.ts')).createAccessLogger('silent') });
await baton.listen(port, '127.0.0.1');
const base = `http://127.0.0.1:${port}`;
const basic = `Basic ${Buffer.from(`web:${SECRET}`).toString('base64')}`;

async function seed(): Promise<{ code: string; verifier: string }> {
  const { provider, store } = baton;
  await store.putRecord<AccountRecord>(ACCOUNT_KIND, 'alice', { claims: { email: 'alice@example.com', email_verified: true, name: 'Alice' } });
  const grant = new provider.Grant({ accountId: 'alice', clientId: 'web' });
  grant.addOIDCScope('openid email offline_access');
  grant.addResourceScope(API, 'read write');
  const grantId = await grant.save();
  const verifier = randomBytes(32).toString('base64url');
  const client = await provider.Client.find('web');
  const code = await new provider.AuthorizationCode({
    client: client!, accountId: 'alice', grantId, scope: 'openid email offline_access read write', redirectUri: REDIRECT,
    codeChallenge: createHash('sha256').update(verifier).digest('base64url'), codeChallengeMethod: 'S256', nonce: 'n',
    resource: API, authTime: Math.floor(Date.now() / 1000), expiresWithSession: false, gty: 'authorization_code',
  }).save();
  return { code, verifier };
}

async function token(form: Record<string, string>): Promise<Record<string, string>> {
  const response = await request(`${base}/token`, {
    method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(),
  });
  const body = await response.body.json() as Record<string, string>;
  if (response.statusCode !== 200) throw new Error(`token endpoint: ${response.statusCode} ${JSON.stringify(body)}`);
  return body;
}

async function measure(label: string, jobs: Array<() => Promise<unknown>>): Promise<void> {
  const before = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < jobs.length) await jobs[next++]!();
  }));
  const cpu = process.cpuUsage(before);
  const seconds = (performance.now() - started) / 1000;
  const memory = process.memoryUsage();
  console.log(`${label.padEnd(18)} ${jobs.length} requests  ${(jobs.length / seconds).toFixed(0)}/s  CPU ${((cpu.user + cpu.system) / jobs.length).toFixed(0)} µs/request (server and client)  RSS ${(memory.rss / 1048576).toFixed(0)} MiB, heap used ${(memory.heapUsed / 1048576).toFixed(0)} MiB`);
}

try {
  for (let round = 0; round < 2; round += 1) {
    const seeded = await Promise.all(Array.from({ length: CODES }, seed));
    const refreshTokens: string[] = [];
    await measure(`code redemption${round === 0 ? ' (warm-up)' : ''}`, seeded.map(({ code, verifier }) => async () => {
      const body = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, resource: API });
      refreshTokens.push(body.refresh_token!);
    }));
    await measure(`refresh${round === 0 ? ' (warm-up)' : ''}`, refreshTokens.map((refreshToken) => async () => {
      await token({ grant_type: 'refresh_token', refresh_token: refreshToken, resource: API });
    }));
  }
} finally {
  await baton.close();
}
process.exit(0);
