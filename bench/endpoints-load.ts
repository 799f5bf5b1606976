// Benchmark child of bench/endpoints.ts: the load generator. A request with a fixed body (discovery,
// JWKS, introspection, userinfo, client_credentials) goes through autocannon, as in load.ts. A
// one-time artifact (a code, a refresh token, a single-use subject JWT) goes through keep-alive
// node:http connections that each send one request after the other and never re-send one (autocannon
// may), each body taken once from a pool the runner filled ahead of the slice ({type:'pool'}).
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';

import autocannon from 'autocannon';

import type { BenchRequest } from './endpoints-fixture.ts';
import type { LoadResult } from './load.ts';
import { oneShotLoop } from './one-shot-loop.ts';

export interface EndpointRun { type: 'run'; url: string; duration: number; connections: number; request: BenchRequest; pool?: string }
export interface EndpointPool { type: 'pool'; key: string; file: string }
export interface EndpointPooled { type: 'pooled'; remaining: number }
export interface EndpointResult extends LoadResult {
  /** Bodies left in the pool after the run; the pool ran dry before the end when `exhausted`. */
  remaining: number;
  exhausted: boolean;
  /** A few failed answers: "status body" or the socket error (pooled runs only). */
  samples: string[];
}

const TIMEOUT_MS = 10_000;
const pools = new Map<string, string[]>();
const agents = new Map<string, Agent>();

if (!process.send) throw new Error('run this file through bench/endpoints.ts (it needs an IPC channel)');

async function fixed(message: EndpointRun): Promise<EndpointResult> {
  const latencies: number[] = [];
  const { method, path, headers, body } = message.request;
  const run = autocannon({ url: message.url + path, method, headers, ...(body !== undefined ? { body } : {}), connections: message.connections, duration: message.duration });
  run.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
  const result = await run;
  return { type: 'result', seconds: result.duration, total: result.requests.total, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, latencies, remaining: 0, exhausted: false, samples: [] };
}

function send(agent: Agent, url: URL, req: BenchRequest, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: url.hostname, port: url.port, path: req.path, method: req.method, agent, headers: { ...req.headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    outgoing.once('error', reject);
    outgoing.setTimeout(TIMEOUT_MS, () => outgoing.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    outgoing.end(body);
  });
}

async function pooled(message: EndpointRun, key: string): Promise<EndpointResult> {
  const url = new URL(message.url);
  let agent = agents.get(message.url);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: message.connections });
    agents.set(message.url, agent);
  }
  const pool = pools.get(key) ?? [];
  pools.set(key, pool);
  const result: EndpointResult = { type: 'result', seconds: 0, total: 0, non2xx: 0, errors: 0, timeouts: 0, latencies: [], remaining: 0, exhausted: false, samples: [] };
  const next = (): string | undefined => {
    const body = pool.pop();
    if (body === undefined) result.exhausted = true;
    return body;
  };
  await oneShotLoop(result, message.connections, message.duration, next, (body) => send(agent, url, message.request, body));
  result.remaining = pool.length;
  return result;
}

process.on('message', async (message: EndpointRun | EndpointPool | { type: 'stop' }) => {
  if (message.type === 'stop') {
    for (const agent of agents.values()) agent.destroy();
    process.exit(0);
  }
  if (message.type === 'pool') {
    const pool = pools.get(message.key) ?? [];
    pools.set(message.key, pool);
    for (const body of JSON.parse(await readFile(message.file, 'utf8')) as string[]) pool.push(body);
    process.send!({ type: 'pooled', remaining: pool.length } satisfies EndpointPooled);
    return;
  }
  process.send!(message.pool === undefined ? await fixed(message) : await pooled(message, message.pool));
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
