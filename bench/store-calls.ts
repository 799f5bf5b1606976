// Store calls per request of the user grants (issue 16): Baton in this process on a memory store
// wrapped by a counting store, the bench fixtures of endpoints.ts (endpoints-fixture.ts), one code
// redemption and one refresh after a warm-up, each store call listed with its model or kind and
// the first Baton frame that made it. `node --import tsx bench/store-calls.ts [code|refresh]`
import { validateConfig } from '../src/config/load.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../src/provider/accounts.ts';
import { createBaton } from '../src/server.ts';
import { openStore } from '../src/storage/index.ts';
import type { Store } from '../src/storage/store.ts';
import { ACCOUNT_CLAIMS, ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, FORM_HEADERS, REDIRECT_URI, RESOURCE, SCOPES, seedCode, seedRefreshToken } from './endpoints-fixture.ts';
import { freePort } from './support.ts';

const calls: string[] = [];
let counting = false;
function counted(store: Store): Store {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (counting) {
          const frame = new Error().stack!.split('\n').slice(2).find((line) => line.includes('/src/') && !line.includes('/src/storage/') && !line.includes('metrics.ts')) ?? '?';
          calls.push(`${String(name)}(${String(args[0])}${typeof args[1] === 'string' ? '' : ''})  ${frame.trim().replace(/.*\/src\//, 'src/').replace(/\)$/, '')}`);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const port = await freePort();
const config = validateConfig({
  issuer: `http://127.0.0.1:${port}`,
  storage: { type: 'memory' },
  keys: { masterSecret: 'bench-master-secret-0123456789abcdefghij', signing: ['ES256'] },
  logging: { level: 'info' },
  resources: [{ id: RESOURCE, scopes: [...SCOPES], accessTokenFormat: 'jwt' }],
  clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [REDIRECT_URI], resources: [{ id: RESOURCE }] }],
}, 'store-calls config');
const baton = await createBaton(config, { keyReloadInterval: 0, store: counted(openStore(config.storage, {})) });
await baton.store.putRecord<AccountRecord>(ACCOUNT_KIND, ACCOUNT_ID, { claims: { ...ACCOUNT_CLAIMS } });
await baton.listen(port, '127.0.0.1');

async function post(body: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/token`, { method: 'POST', headers: FORM_HEADERS, body });
  if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
  await response.text();
}

const workload = process.argv[2] ?? 'refresh';
const seed = () => workload === 'code' ? seedCode(baton.provider, RESOURCE) : seedRefreshToken(baton.provider);
for (let i = 0; i < 20; i += 1) await post(await seed());
const body = await seed();
counting = true;
await post(body);
counting = false;
console.log(`${workload}: ${calls.length} store calls`);
for (const call of calls) console.log(`  ${call}`);
await baton.close();
process.exit(0);
