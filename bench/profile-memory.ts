// Memory of an idle Baton for issue 16: starts Baton in this process as bench/baton-server.ts does
// (memory store, one JWT API, one client), then prints RSS, heap and the CommonJS packages loaded
// (largest first by module count). Run with --expose-gc so the heap figure is after a collection.
//   node --expose-gc --import tsx bench/profile-memory.ts
import { createRequire } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const report = (label: string) => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  console.log(`${label.padEnd(24)} RSS ${mib(m.rss)} MiB  heap used ${mib(m.heapUsed)} / total ${mib(m.heapTotal)} MiB  external ${mib(m.external)} MiB  array buffers ${mib(m.arrayBuffers)} MiB`);
};

report('node + tsx');
const { validateConfig } = await import('../src/config/load.ts');
const { createBaton } = await import('../src/server.ts');
report('Baton imported');
const port = 0;
const config = validateConfig({
  issuer: 'http://127.0.0.1:4999',
  server: { host: '127.0.0.1', port: 4999, shutdownGracePeriod: 1 },
  storage: { type: 'memory' },
  keys: { masterSecret: 'bench-master-secret-0123456789abcdefghij', signing: ['ES256'] },
  logging: { level: 'info' },
  resources: [{ id: 'https://api.bench.example', scopes: ['read'], accessTokenFormat: 'jwt' }],
  clients: [{ client_id: 'c', client_secret: 'a-bench-secret-0123456789abcdef', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', resources: [{ id: 'https://api.bench.example' }] }],
}, 'memory profile config');
const baton = await createBaton(config, { keyReloadInterval: 0 });
await baton.listen(port, '127.0.0.1');
await new Promise((resolve) => setTimeout(resolve, 500));
report('Baton listening (idle)');
// V8's memory reducer shrinks the young generation after some seconds without allocation.
for (let waited = 0; waited < Number(process.env.BENCH_IDLE ?? 0); waited += 5) {
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const m = process.memoryUsage();
  console.log(`  idle ${waited + 5} s: RSS ${mib(m.rss)} MiB, heap total ${mib(m.heapTotal)} MiB (no forced collection)`);
}

const packages = new Map<string, number>();
for (const file of Object.keys(createRequire(import.meta.url).cache)) {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? '(own)';
  packages.set(pkg, (packages.get(pkg) ?? 0) + 1);
}
console.log('V8 heap spaces (size / used MiB):', getHeapSpaceStatistics().map((s) => `${s.space_name} ${mib(s.space_size)}/${mib(s.space_used_size)}`).join(', '));
console.log('CommonJS packages loaded (modules):', [...packages].sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} ${n}`).join(', '));
await baton.close();
process.exit(0);
