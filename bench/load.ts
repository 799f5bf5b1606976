// Benchmark child: the load generator. Runs autocannon against the URL the parent names (over IPC)
// with the fixture's token request and sends back counts and every response time of the run.
import autocannon from 'autocannon';

import { TOKEN_REQUEST } from './fixture.ts';

/** `body`: another form body for POST /token than the fixture's (bench/growth.ts asks other scopes). */
export interface LoadRun { type: 'run'; url: string; duration: number; connections: number; body?: string }
export interface LoadResult {
  type: 'result';
  /** Wall-clock seconds of the run. */
  seconds: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Response times in ms (sub-millisecond resolution, unlike autocannon's own histogram). */
  latencies: number[];
}

if (!process.send) throw new Error('run this file through bench/client-credentials.ts (it needs an IPC channel)');

process.on('message', async (message: LoadRun | { type: 'stop' }) => {
  if (message.type === 'stop') process.exit(0);
  const latencies: number[] = [];
  const run = autocannon({
    url: message.url + TOKEN_REQUEST.path,
    method: TOKEN_REQUEST.method,
    headers: TOKEN_REQUEST.headers,
    body: message.body ?? TOKEN_REQUEST.body,
    connections: message.connections,
    duration: message.duration,
  });
  run.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
  const result = await run;
  const reply: LoadResult = {
    type: 'result',
    seconds: result.duration,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencies,
  };
  process.send!(reply);
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
