// Benchmark child of bench/storage.ts: Baton from src/server.ts on the storage named by BENCH_STORAGE
// (JSON of the `storage` config section), an ES256 key, a JWT API and an opaque API, and one
// confidential client allowed client_credentials and authorization_code (+ refresh_token).
// Listens on 127.0.0.1:BENCH_PORT (see server-ipc.ts). On {type:'seed', count, file} it creates
// `count` PKCE-bound authorization codes through the provider's own models (as test/helpers/seed.ts
// does) and writes them to `file` as JSON, then answers {type:'seeded', count}.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

import { validateConfig } from '../src/config/load.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../src/provider/accounts.ts';
import { createBaton } from '../src/server.ts';
import { TOKEN_TTL } from './fixture.ts';
import { benchPort, serveBenchIpc } from './server-ipc.ts';
import {
  ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, CODE_OIDC_SCOPE, OPAQUE_RESOURCE, REDIRECT_URI, RESOURCE, SCOPES, type SeededCode,
} from './storage-fixture.ts';

export type SeedRequest = { type: 'seed'; count: number; file: string };
/** `error` is set when seeding failed (one reply type, so the parent waits on one message). */
export type SeedReply = { type: 'seeded'; count: number; error?: string };

/** Codes saved at the same time while seeding (the postgres pool has 10 connections). */
const SEED_CONCURRENCY = 16;

const port = benchPort();
const storage: unknown = JSON.parse(process.env.BENCH_STORAGE ?? 'null');
if (!storage) throw new Error('BENCH_STORAGE must be set by bench/storage.ts');

const config = validateConfig({
  issuer: `http://127.0.0.1:${port}`,
  server: { host: '127.0.0.1', port, shutdownGracePeriod: 1 },
  storage,
  keys: { masterSecret: 'bench-master-secret-0123456789abcdefghij', signing: ['ES256'] },
  // Codes are seeded before the measured slices; they must outlive the whole run.
  ttl: { clientCredentials: TOKEN_TTL, authorizationCode: '15m' },
  logging: { level: process.env.BENCH_BATON_LOG_LEVEL ?? 'info' },
  resources: [
    { id: RESOURCE, scopes: [...SCOPES], accessTokenFormat: 'jwt' },
    { id: OPAQUE_RESOURCE, scopes: [...SCOPES], accessTokenFormat: 'opaque' },
  ],
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [REDIRECT_URI],
    resources: [{ id: RESOURCE }, { id: OPAQUE_RESOURCE }],
  }],
}, 'storage bench config');

const baton = await createBaton(config, { keyReloadInterval: 0 });
await baton.store.putRecord<AccountRecord>(ACCOUNT_KIND, ACCOUNT_ID, { claims: { email: 'bench@example.com', email_verified: true, name: 'Bench User' } });

/** One grant and one code, as a browser sign-in leaves them (see test/helpers/seed.ts). */
async function seedOne(): Promise<SeededCode> {
  const { provider } = baton;
  const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: CLIENT_ID });
  grant.addOIDCScope(CODE_OIDC_SCOPE);
  grant.addResourceScope(RESOURCE, 'read');
  const grantId = await grant.save();
  const client = await provider.Client.find(CLIENT_ID);
  if (!client) throw new Error(`unknown client ${CLIENT_ID}`);
  const verifier = randomBytes(32).toString('base64url');
  const code = new provider.AuthorizationCode({
    client,
    accountId: ACCOUNT_ID,
    grantId,
    scope: `${CODE_OIDC_SCOPE} read`,
    redirectUri: REDIRECT_URI,
    codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
    codeChallengeMethod: 'S256',
    nonce: randomBytes(16).toString('base64url'),
    resource: RESOURCE,
    authTime: Math.floor(Date.now() / 1000),
    expiresWithSession: false,
    gty: 'authorization_code',
  });
  return { code: await code.save(), verifier };
}

async function seed(count: number): Promise<SeededCode[]> {
  const codes: SeededCode[] = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started += 1;
      codes.push(await seedOne());
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEED_CONCURRENCY, count) }, worker));
  return codes;
}

process.on('message', (message: SeedRequest | { type: string }) => {
  if (message.type !== 'seed') return;
  const { count, file } = message as SeedRequest;
  const reply = (answer: SeedReply) => process.send!(answer);
  seed(count)
    .then((codes) => writeFile(file, JSON.stringify(codes)).then(() => reply({ type: 'seeded', count: codes.length })))
    .catch((err: unknown) => reply({ type: 'seeded', count: 0, error: err instanceof Error ? err.message : String(err) }));
});

await baton.listen(port, '127.0.0.1');
serveBenchIpc(config.issuer, () => baton.close());
