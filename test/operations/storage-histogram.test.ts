// baton_storage_seconds is Baton's own histogram (src/observability/storage-histogram.ts): what
// /metrics prints for it must be what prom-client's Histogram prints for the same observations.
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { Metrics } from '../../src/observability/metrics.ts';
import { StorageHistogram } from '../../src/observability/storage-histogram.ts';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
// On a bound, between bounds, above every bound, zero.
const SECONDS = [0.001, 0.0004, 0.003, 7, 0, 0.25, 0.2500001, 5, 0.03];

function twins() {
  const own = new Registry();
  const ours = new StorageHistogram(BUCKETS);
  own.registerMetric(ours.asMetric());
  const reference = new Registry();
  const theirs = new Histogram({ name: 'baton_storage_seconds', help: 'Storage operations by backend, operation and result.', labelNames: ['backend', 'operation', 'result'] as const, buckets: BUCKETS, registers: [reference] });
  return { own, ours, reference, theirs };
}

describe('the storage histogram', () => {
  it('prints what prom-client prints for the same observations, series in order of first use', async () => {
    const { own, ours, reference, theirs } = twins();
    const series = [
      { backend: 'memory', operation: 'find', result: 'ok' },
      { backend: 'memory', operation: 'getRecord', result: 'ok' },
      { backend: 'memory', operation: 'find', result: 'error' },
    ];
    const recorders = series.map((labels) => ours.series(labels));
    SECONDS.forEach((seconds, i) => {
      const at = i % 3 === 2 ? 0 : i % 3;
      recorders[at]!(seconds);
      theirs.observe(series[at]!, seconds);
    });
    // The error series was resolved but never observed: absent, as prom-client's would be.
    expect(await own.metrics()).toBe(await reference.metrics());
    expect(await own.metrics()).not.toContain('result="error"');
    recorders[2]!(0.02);
    theirs.observe(series[2]!, 0.02);
    expect(await own.metrics()).toBe(await reference.metrics());
    expect(await own.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON());
  });

  it('one series per label set, however many recorders; reset empties it', async () => {
    const { own, ours, reference, theirs } = twins();
    const labels = { backend: 'sqlite', operation: 'consume', result: 'ok' };
    ours.series(labels)(0.002);
    ours.series({ ...labels })(0.02);
    theirs.observe(labels, 0.002);
    theirs.observe(labels, 0.02);
    expect(await own.metrics()).toBe(await reference.metrics());
    own.resetMetrics();
    reference.resetMetrics();
    expect(await own.metrics()).toBe(await reference.metrics());
    expect(await own.metrics()).not.toContain('sqlite');
  });

  it('is registered in the metrics Baton serves', async () => {
    const metrics = new Metrics();
    metrics.storage.series({ backend: 'memory', operation: 'find', result: 'ok' })(0.003);
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE baton_storage_seconds histogram');
    expect(text).toContain('baton_storage_seconds_bucket{le="0.005",backend="memory",operation="find",result="ok"} 1');
    expect(text).toContain('baton_storage_seconds_count{backend="memory",operation="find",result="ok"} 1');
  });
});
