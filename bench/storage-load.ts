// Benchmark child of bench/storage.ts: the load generator. A fixed number of keep-alive connections,
// each sending one POST /token after the other (node:http). Unlike autocannon (load.ts) it never
// re-sends a request, so each seeded authorization code is posted exactly once: codes handed over
// with {type:'codes'} are queued per backend and consumed by the `code` workload; when the queue runs
// dry the slice ends early and says so. Every non-2xx answer is counted and a few are sent back.
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';

import type { LoadResult } from './load.ts';
import { oneShotLoop } from './one-shot-loop.ts';
import { CLIENT_CREDENTIALS_BODY, codeBody, type SeededCode, TOKEN_HEADERS, TOKEN_PATH, type Workload } from './storage-fixture.ts';

export interface StorageLoadRun { type: 'run'; backend: string; url: string; workload: Workload; duration: number; connections: number }
export interface StorageLoadCodes { type: 'codes'; backend: string; file: string }
export interface StorageLoadQueued { type: 'queued'; remaining: number }
export interface StorageLoadResult extends LoadResult {
  /** Codes still queued for this backend after the run. */
  remaining: number;
  /** The code queue ran dry before the duration was over. */
  exhausted: boolean;
  /** A few failed answers: "status body" or the socket error. */
  samples: string[];
}

const TIMEOUT_MS = 10_000;
const queues = new Map<string, SeededCode[]>();
const agents = new Map<string, Agent>();

if (!process.send) throw new Error('run this file through bench/storage.ts (it needs an IPC channel)');

function post(agent: Agent, url: URL, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: TOKEN_PATH,
      method: 'POST',
      agent,
      headers: { ...TOKEN_HEADERS, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.end(body);
  });
}

async function run(message: StorageLoadRun): Promise<StorageLoadResult> {
  const url = new URL(message.url);
  let agent = agents.get(message.url);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: message.connections });
    agents.set(message.url, agent);
  }
  const queue = queues.get(message.backend) ?? [];
  queues.set(message.backend, queue);
  const result: StorageLoadResult = { type: 'result', seconds: 0, total: 0, non2xx: 0, errors: 0, timeouts: 0, latencies: [], remaining: 0, exhausted: false, samples: [] };
  const next = (): string | undefined => {
    if (message.workload === 'client_credentials') return CLIENT_CREDENTIALS_BODY;
    const seeded = queue.pop();
    if (!seeded) result.exhausted = true;
    return seeded && codeBody(seeded);
  };
  await oneShotLoop(result, message.connections, message.duration, next, (body) => post(agent, url, body));
  result.remaining = queue.length;
  return result;
}

process.on('message', async (message: StorageLoadRun | StorageLoadCodes | { type: 'stop' }) => {
  if (message.type === 'stop') {
    for (const agent of agents.values()) agent.destroy();
    process.exit(0);
  }
  if (message.type === 'codes') {
    const codes = JSON.parse(await readFile(message.file, 'utf8')) as SeededCode[];
    const queue = queues.get(message.backend) ?? [];
    queues.set(message.backend, queue);
    for (const code of codes) queue.push(code);
    process.send!({ type: 'queued', remaining: queue.length } satisfies StorageLoadQueued);
    return;
  }
  process.send!(await run(message));
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
