// Worker of bench/fanout-instructions.ts (runs under callgrind): the fan-out of the tree in
// BENCH_SRC (sources, or a compiled dist/ directory) against the authorizers in BENCH_URLS, making
// `count` decisions per 'run' message.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import type { Authorizers as AuthorizersClass, DecisionRequest } from '../src/orchestration/authorizers/index.ts';
import type { createAccessLogger as CreateAccessLogger, createLogger as CreateLogger } from '../src/observability/logger.ts';
import type { requestSigner as RequestSigner } from '../src/orchestration/request-signer.ts';
import type { ensureAlgorithms as EnsureAlgorithms } from '../src/keys/keyset.ts';
import type { MemoryStore as MemoryStoreClass } from '../src/storage/memory/memory-store.ts';
import { envNumber } from './support.ts';

const src = process.env.BENCH_SRC!;
const compiled = !existsSync(`${src}/main.ts`);
const from = async <T>(path: string): Promise<T> => await import(pathToFileURL(`${src}/${compiled ? path.replace(/\.ts$/, '.js') : path}`).href) as T;
const { Authorizers } = await from<{ Authorizers: typeof AuthorizersClass }>('orchestration/authorizers/index.ts');
const { createAccessLogger, createLogger } = await from<{ createAccessLogger: typeof CreateAccessLogger; createLogger: typeof CreateLogger }>('observability/logger.ts');
const { requestSigner } = await from<{ requestSigner: typeof RequestSigner }>('orchestration/request-signer.ts');
const { ensureAlgorithms } = await from<{ ensureAlgorithms: typeof EnsureAlgorithms }>('keys/keyset.ts');
const { MemoryStore } = await from<{ MemoryStore: typeof MemoryStoreClass }>('storage/memory/memory-store.ts');

const IN_FLIGHT = envNumber('BENCH_IN_FLIGHT', 50);
const urls = (process.env.BENCH_URLS ?? '').split(',');
const configs = urls.map((url, i) => ({ id: `authz-${i}`, url, namespace: `ns${i}:`, timeout: 30, onFailure: 'deny' as const, cacheTTL: 0 }));
const keys = await ensureAlgorithms({ keys: [] }, ['ES256'], Math.floor(Date.now() / 1000) - 1);
const signer = requestSigner('http://127.0.0.1', 'ES256', () => keys);
const constant = await signer('authz-0', { sub: 'alice', client_id: 'web' });
const sign = process.env.BENCH_UNSIGNED ? async () => constant : signer;
// As a server makes them (server.ts): decisions at info to the access log's logger (a tree without it ignores it).
const authorizers = new Authorizers(configs, { sign, store: new MemoryStore(), logger: createLogger('info', { write: () => undefined }), requestLogger: createAccessLogger('info', { write: () => undefined }) });
const request: DecisionRequest = {
  subject: 'alice', clientId: 'web', grantType: 'authorization_code', resource: 'https://api.bench.example',
  scopes: ['openid', 'ns0:read', 'ns1:read', 'ns1:write', 'ns2:read'], upstream: { idp: 'entra', acr: 'mfa', amr: ['pwd', 'otp'] },
  claims: { email: 'alice@example.com', groups: ['staff'] },
};

async function run(count: number): Promise<void> {
  let started = 0;
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, async () => {
    while (started < count) {
      started += 1;
      const result = await authorizers.decide(request);
      if (result.failed || result.scopes.length !== request.scopes.length) throw new Error(`not granted: ${JSON.stringify(result.failed)}`);
    }
  }));
}

process.on('message', (message: { type?: string; count?: number }) => {
  if (message.type === 'run') {
    const before = process.cpuUsage();
    void run(message.count ?? 1).then(() => process.send!({ type: 'done', ...process.cpuUsage(before) }), (err: unknown) => { console.error(err); process.exit(1); });
  }
  if (message.type === 'stop') process.exit(0);
});
process.send!({ type: 'ready' });
