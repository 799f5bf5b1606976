// The measuring loop of the benchmarks whose request bodies are used once (codes, refresh tokens,
// subject tokens): `connections` workers send the next body until the time is up or the bodies run
// out, recording latency, status and the first failures.
import { performance } from 'node:perf_hooks';

import type { LoadResult } from './load.ts';

/** Failures kept as samples in a result. */
const MAX_SAMPLES = 5;

export interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * Runs for `seconds` with `connections` workers: each takes `next()` (undefined: nothing left, the
 * worker stops) and `send`s it. Fills `result` (latencies, total, non2xx, errors, samples, seconds).
 */
export async function oneShotLoop(result: LoadResult & { samples: string[] }, connections: number, seconds: number, next: () => string | undefined, send: (body: string) => Promise<Answer>): Promise<void> {
  const started = performance.now();
  const end = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const body = next();
      if (body === undefined) return;
      const sent = performance.now();
      try {
        const answer = await send(body);
        result.latencies.push(performance.now() - sent);
        result.total += 1;
        if (answer.status < 200 || answer.status > 299) {
          result.non2xx += 1;
          if (result.samples.length < MAX_SAMPLES) result.samples.push(`${answer.status} ${answer.body.slice(0, 300)}`);
        }
      } catch (err) {
        result.errors += 1;
        if (result.samples.length < MAX_SAMPLES) result.samples.push(`socket error: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  result.seconds = (performance.now() - started) / 1000;
}
