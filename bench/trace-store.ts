// Benchmark: what storing one decision trace costs the process, the request path left out:
// TraceStore.keep (comparing with the decision waiting, encoding) and the batched write, on a real
// store, in one process, CPU time per trace. Traces under Baton's own request ids (UUIDv7, stored
// in pages: src/explain/trace-pages.ts) beside traces under a proxy's X-Request-Id (one record
// each), for identical decisions (a machine client asking again and again: references to a shared
// body) and distinct ones (each stored in full). Rounds alternate so host drift hits each alike;
// the median round is printed.
//   node --import tsx bench/trace-store.ts        env: BENCH_STORAGE=sqlite|postgres|redis|memory,
//                                                 BENCH_TRACES (per round, 20,000), BENCH_ROUNDS (7), BENCH_BATON_SRC
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pathToFileURL } from 'node:url';

import type { Store } from '../src/storage/store.ts';
import { BackendPlaces } from './storage-backends.ts';
import { envNumber } from './support.ts';

// BENCH_BATON_SRC=/path/to/other/checkout/src: that checkout's trace store instead (e.g. before pages).
const src = process.env.BENCH_BATON_SRC ? pathToFileURL(`${process.env.BENCH_BATON_SRC}/`).href : new URL('../src/', import.meta.url).href;
const { TraceRecorder } = await import(`${src}explain/recorder.ts`) as typeof import('../src/explain/recorder.ts');
const { TraceStore } = await import(`${src}explain/store.ts`) as typeof import('../src/explain/store.ts');
const { newRequestId } = await import(`${src}observability/request-log.ts`) as typeof import('../src/observability/request-log.ts');
const { openStore } = await import(`${src}storage/index.ts`) as typeof import('../src/storage/index.ts');

const TRACES = Math.round(envNumber('BENCH_TRACES', 20_000));
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 7));
const STORAGE = (['memory', 'postgres', 'redis'] as const).find((name) => name === process.env.BENCH_STORAGE) ?? 'sqlite';
/** Requests per second the traces arrive at (they are handed over in steps of 1 ms of traffic). */
const RATE = envNumber('BENCH_RATE', 4000);

/** A client_credentials decision as the lean token path records it (8 access token claims). */
function recorded(requestId: string, distinct: number | undefined, issuedId: boolean): InstanceType<typeof TraceRecorder> {
  // An older checkout's recorder takes no fourth argument (it stores every trace alike).
  const recorder = new TraceRecorder(requestId, Date.now(), undefined, issuedId);
  recorder.request({ endpoint: 'token', clientId: 'bench-service', grantType: 'client_credentials', resources: ['https://api.bench.example'], scopes: ['read'] });
  recorder.identity({ sub: 'bench-service', claims: {} });
  recorder.scope({ scope: 'read', resource: 'https://api.bench.example', granted: true, by: 'client' });
  const claims: Record<string, unknown> = {
    jti: randomUUID(), sub: 'bench-service', iat: 1, exp: 2, scope: 'read', client_id: 'bench-service',
    iss: 'https://baton.bench.example', aud: distinct === undefined ? 'https://api.bench.example' : `https://api${distinct}.bench.example`,
  };
  for (const claim in claims) recorder.claim({ token: 'access_token', resource: 'https://api.bench.example', claim, by: 'baton', value: claims[claim] });
  return recorder;
}

const places = new BackendPlaces();
const dir = mkdtempSync(join(tmpdir(), 'baton-bench-trace-store-'));
async function open(): Promise<Store> {
  if (STORAGE === 'memory') return openStore({ type: 'memory' });
  if (STORAGE === 'sqlite') return openStore({ type: 'sqlite', path: join(dir, `${randomUUID()}.db`) });
  return openStore(places.backends().find((b) => b.name === STORAGE)!.storage as Parameters<typeof openStore>[0]);
}

const variants = [
  { name: 'Baton request ids, identical decisions', id: (at: number) => newRequestId(at), distinct: false, issued: true },
  { name: 'proxy request ids, identical decisions', id: () => randomUUID().replaceAll('-', ''), distinct: false, issued: false },
  { name: 'Baton request ids, distinct decisions', id: (at: number) => newRequestId(at), distinct: true, issued: true },
  { name: 'proxy request ids, distinct decisions', id: () => randomUUID().replaceAll('-', ''), distinct: true, issued: false },
];

/** CPU µs of this process per trace: recording it, and with `store`, keeping and writing it (PostgreSQL's and Redis's own processes not counted). */
async function round(variant: (typeof variants)[number], store?: Store): Promise<number> {
  const traces = store && new TraceStore(store, 3600);
  const perMs = Math.max(1, Math.round(RATE / 1000));
  // Baton's ids carry the time they stand for: RATE a second from 2.5 s ago (pages are written for
  // recent windows only, and a window takes at most 64 pages: in the time this loop takes, ids of
  // the real clock would crowd far more traces into each 256 ms window than RATE does).
  const from = Date.now() - 2500;
  const started = process.cpuUsage();
  for (let i = 0; i < TRACES; i += perMs) {
    for (let j = 0; j < perMs; j++) {
      const recorder = recorded(variant.id(from + i / perMs), variant.distinct ? i + j : undefined, variant.issued);
      traces?.keep(recorder);
    }
    // Let the timers and writes run as they would between requests.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await traces?.close();
  const spent = process.cpuUsage(started);
  return (spent.user + spent.system) / TRACES;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  if (STORAGE === 'postgres' || STORAGE === 'redis') await places.check();
  const store = await open();
  console.log(`storing decision traces (${STORAGE} store, ${src}): ${TRACES} traces per round, ${ROUNDS} rounds in alternating order; CPU µs per trace of this process, median round`);
  const results = variants.map(() => ({ stored: [] as number[], recording: [] as number[] }));
  // One round of each to warm up, not counted.
  for (const variant of variants) await round(variant, store);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      const result = results[variants.indexOf(variant)]!;
      const recording = await round(variant);
      result.stored.push((await round(variant, store)) - recording);
      result.recording.push(recording);
    }
  }
  console.log(`${'traces'.padEnd(42)}${'stored µs'.padStart(11)}${'(recording µs)'.padStart(16)}`);
  variants.forEach((variant, i) => console.log(`${variant.name.padEnd(42)}${median(results[i]!.stored).toFixed(2).padStart(11)}${median(results[i]!.recording).toFixed(2).padStart(16)}`));
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
  for (const problem of await places.cleanup()) console.error(`clean-up: ${problem}`);
}
