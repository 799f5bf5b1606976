// What single steps of a token request cost in instructions (issue 16 target 3), counted by callgrind:
// one store call through each layer Baton puts around it, an access-log line, a storage histogram
// observation, a token-id hash, the successor sealing. The worker (this file with `--worker`, under
// valgrind) builds the same layers as the server (dist/: `npm run build` first), fills the memory
// store as a benchmark run does, and runs an operation K and 2K times, each awaited in turn; the
// count per operation is the difference of the two batches' main-thread counts over K, so the
// batch's fixed costs (IPC, zeroing the counters) cancel; the compiler and GC threads are left out.
//   node --import tsx bench/unit-instructions.ts [K]      (K: 2000)
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OPERATIONS = [
  'noop', 'async frame', 'map-find', 'memory.getRecord', 'measured.getRecord', 'memory.find', 'measured.find', 'adapter.find (at rest)',
  'measured.putRecord', 'histogram.observe', 'storedTokenId', 'sealSuccessor', 'newRequestId', 'access log line',
] as const;
type Operation = (typeof OPERATIONS)[number];

if (process.argv[2] === '--worker') await worker();
else await runner(Number(process.argv[2] ?? 2000));

async function runner(k: number): Promise<void> {
  const { countInstructionsByThread } = await import('./callgrind.ts');
  const count = async (work: () => Promise<void>) => (await countInstructionsByThread(child.pid!, dir, work)).mainThread;
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-units-'));
  const child = spawn('valgrind', ['-q', '--tool=callgrind', '--smc-check=all-non-file', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'out')}`, process.execPath, '--import', 'tsx', new URL(import.meta.url).pathname, '--worker'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (message: object) => new Promise<void>((done) => {
    const onMessage = (reply: { type: string }) => { if (reply.type === 'done') { child.off('message', onMessage); done(); } };
    child.on('message', onMessage);
    child.send(message);
  });
  // countInstructions sums every dump in `dir`: each batch's is removed once counted.
  const clear = () => { for (const name of readdirSync(dir)) if (name !== 'out') rmSync(join(dir, name), { force: true }); };
  await new Promise<void>((ready) => child.once('message', () => ready()));
  try {
    console.log(`main-thread instructions per operation (batches of ${k} and ${2 * k}, each after a warm-up of ${2 * k})`);
    for (const operation of OPERATIONS) {
      await ask({ type: 'run', operation, count: 2 * k });
      const one = await count(() => ask({ type: 'run', operation, count: k }));
      clear();
      const two = await count(() => ask({ type: 'run', operation, count: 2 * k }));
      clear();
      console.log(`${operation.padEnd(24)} ${((two - one) / k).toFixed(0).padStart(8)}`);
    }
  } finally {
    child.kill();
    await new Promise((done) => child.once('exit', done));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function worker(): Promise<void> {
  const dist = new URL('../dist/', import.meta.url).href;
  const { MemoryStore } = await import(`${dist}storage/memory/memory-store.js`) as typeof import('../src/storage/memory/memory-store.ts');
  const { Metrics, measuredStore } = await import(`${dist}observability/metrics.js`) as typeof import('../src/observability/metrics.ts');
  const { TokensAtRest } = await import(`${dist}provider/tokens-at-rest.js`) as typeof import('../src/provider/tokens-at-rest.ts');
  const { storedTokenId } = await import(`${dist}storage/token-ids.js`) as typeof import('../src/storage/token-ids.ts');
  const { sealSuccessor } = await import(`${dist}grants/refresh-rotation.js`) as typeof import('../src/grants/refresh-rotation.ts');
  const { newRequestId } = await import(`${dist}observability/request-log.js`) as typeof import('../src/observability/request-log.ts');
  const { createAccessLogger } = await import(`${dist}observability/logger.js`) as typeof import('../src/observability/logger.ts');
  const { pino } = await import('pino');
  const { randomBytes } = await import('node:crypto');

  const memory = new MemoryStore();
  const metrics = new Metrics();
  const measured = measuredStore(memory, metrics);
  const atRest = new TokensAtRest(measured, randomBytes(32));
  // As after a benchmark's seeding: thousands of grants, refresh tokens and rotation records.
  const values: string[] = [];
  const payload = (i: number) => ({ iat: 1, exp: 2e9, accountId: 'bench-user', clientId: 'bench-client', grantId: `grant-${i}`, kind: 'RefreshToken', scope: 'openid email profile offline_access read write', resource: 'https://api.bench.example', gty: 'authorization_code', rotations: 0, authTime: 1, nonce: 'n'.repeat(22), expiresWithSession: false, sessionUid: 'u' });
  for (let i = 0; i < 8000; i += 1) {
    const value = randomBytes(32).toString('base64url');
    values.push(value);
    await atRest.upsert('RefreshToken', value, payload(i), 3600);
    await memory.upsert('Grant', `grant-${i}`, { accountId: 'bench-user', clientId: 'bench-client', openid: { scope: 'openid email profile offline_access' }, resources: { 'https://api.bench.example': 'read write' } }, 3600);
    await memory.putRecord('refresh-rotation', storedTokenId(value), { state: 'rotated', clientId: 'bench-client', at: 1, sealed: 's'.repeat(100) }, { expiresIn: 3600 });
  }
  await memory.putRecord('account', 'bench-user', { claims: { email: 'bench@example.com', email_verified: true, name: 'Bench User' } });
  const map = new Map(values.map((v, i) => [`RefreshToken:${v}`, payload(i)]));
  const logger = createAccessLogger('info', pino.destination({ dest: '/dev/null', sync: true, minLength: 4096 }));
  const histogram = metrics.storage.labels({ backend: 'memory', operation: 'find', result: 'ok' });
  let n = 0;
  const pick = () => values[(n += 1) % values.length]!;
  const ops: Record<Operation, () => unknown> = {
    noop: () => undefined,
    'async frame': async () => undefined,
    'map-find': async () => map.get(`RefreshToken:${pick()}`),
    'memory.getRecord': () => memory.getRecord('account', 'bench-user'),
    'measured.getRecord': () => measured.getRecord('account', 'bench-user'),
    'memory.find': () => memory.find('RefreshToken', storedTokenId(pick())),
    'measured.find': () => measured.find('RefreshToken', storedTokenId(pick())),
    'adapter.find (at rest)': () => atRest.find('RefreshToken', pick()),
    'measured.putRecord': () => measured.putRecord('refresh-rotation', `claim-${n += 1}`, { state: 'pending', clientId: 'bench-client', owner: '0190a0b0-0000-7000-8000-000000000000' }, { expectedVersion: 0, expiresIn: 60 }),
    'histogram.observe': () => histogram.observe(0.0001),
    storedTokenId: () => storedTokenId(pick()),
    sealSuccessor: () => sealSuccessor(pick(), pick()),
    newRequestId: () => newRequestId(),
    'access log line': () => logger.info({ reqId: newRequestId(), method: 'POST', path: '/token', route: 'token', status: 200, ms: 1.2, ip: '127.0.0.1' }, 'request'),
  };
  process.on('message', (message: { type: string; operation: Operation; count: number }) => {
    if (message.type !== 'run') return;
    void (async () => {
      const op = ops[message.operation];
      for (let i = 0; i < message.count; i += 1) await op();
      process.send!({ type: 'done' });
    })();
  });
  process.send!({ type: 'ready' });
}
