// The storage histogram's success series counted in place (src/observability/counted-series.ts)
// must expose exactly what prom-client's own observe would: the same observations through both, the
// same text at every scrape, including values on a bucket's bound, above the last bound, after a
// reset, and next to series observed the ordinary way. If a prom-client upgrade changes the
// structure it counts into, these comparisons fail (or it falls back to prom-client's observe).
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { countedSeries } from '../../src/observability/counted-series.ts';
import { measuredStore, Metrics } from '../../src/observability/metrics.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Inside buckets, on bounds, between them, above the last, zero. */
const VALUES = [0.0004, 0.001, 0.0011, 0.005, 0.0072, 0.01, 0.3, 1, 2.5, 4.99, 5, 5.01, 120, 0, 0.025];

function pair() {
  const made = () => {
    const registry = new Registry();
    const histogram = new Histogram({ name: 'baton_storage_seconds', help: 'h', labelNames: ['backend', 'operation', 'result'] as const, buckets: BUCKETS, registers: [registry] });
    return { registry, histogram };
  };
  return { counted: made(), reference: made() };
}

const labels = { backend: 'memory', operation: 'getRecord', result: 'ok' } as const;

describe('a histogram series counted in place', () => {
  it('exposes exactly what prom-client observing the same values exposes, at every step', async () => {
    const { counted, reference } = pair();
    // prom-client's own observe is asked only for the first value (which creates the series).
    let slow = 0;
    const labelsOf = counted.histogram.labels.bind(counted.histogram);
    Object.defineProperty(counted.histogram, 'labels', {
      value: (...args: Parameters<typeof labelsOf>) => {
        const inner = labelsOf(...args);
        return { ...inner, observe: (value: number) => { slow += 1; inner.observe(value); } };
      },
    });
    const observe = countedSeries(counted.histogram, labels);
    const child = reference.histogram.labels(labels);
    expect(await counted.registry.metrics()).toBe(await reference.registry.metrics());
    for (const value of VALUES) {
      observe(value);
      child.observe(value);
      expect(await counted.registry.metrics()).toBe(await reference.registry.metrics());
    }
    expect(await counted.registry.metrics()).toMatch(/baton_storage_seconds_count\{backend="memory",operation="getRecord",result="ok"\} 15/);
    expect(slow).toBe(1);
  });

  it('beside series observed the ordinary way, and after a reset', async () => {
    const { counted, reference } = pair();
    const fast = countedSeries(counted.histogram, labels);
    const put = countedSeries(counted.histogram, { ...labels, operation: 'putRecord' });
    const child = reference.histogram.labels(labels);
    for (const value of VALUES) {
      fast(value);
      child.observe(value);
      put(value * 2);
      reference.histogram.observe({ ...labels, operation: 'putRecord' }, value * 2);
      counted.histogram.observe({ ...labels, result: 'error' }, value);
      reference.histogram.observe({ ...labels, result: 'error' }, value);
    }
    expect(await counted.registry.metrics()).toBe(await reference.registry.metrics());
    counted.registry.resetMetrics();
    reference.registry.resetMetrics();
    expect(await counted.registry.metrics()).toBe(await reference.registry.metrics());
    for (const value of VALUES.slice(0, 5)) {
      fast(value);
      child.observe(value);
    }
    expect(await counted.registry.metrics()).toBe(await reference.registry.metrics());
  });

  it('a value prom-client refuses is refused alike (TypeError), and counts nothing', async () => {
    const { counted, reference } = pair();
    const observe = countedSeries(counted.histogram, labels);
    observe(0.002);
    reference.histogram.labels(labels).observe(0.002);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => observe(bad)).toThrow(TypeError);
      expect(() => reference.histogram.labels(labels).observe(bad)).toThrow(TypeError);
    }
    expect(await counted.registry.metrics()).toBe(await reference.registry.metrics());
  });

  it('without the structure it counts into (another prom-client), every value goes through prom-client', () => {
    const observed: number[] = [];
    // A histogram as another version might keep it: the series found, but its counts named otherwise.
    const other = {
      upperBounds: BUCKETS,
      hashMap: { 'operation:get': { labels: { operation: 'get' }, counts: {}, total: 0 } },
      labels: () => ({ observe: (value: number) => { observed.push(value); } }),
    };
    const observe = countedSeries(other as unknown as Histogram<'operation'>, { operation: 'get' });
    for (const value of [0.002, 0.2, 7]) observe(value);
    expect(observed).toEqual([0.002, 0.2, 7]);
  });

  it('a layout that looks the same but counts otherwise (cumulative buckets) is left to prom-client', () => {
    const series = { labels: { operation: 'get' }, bucketValues: Object.fromEntries(BUCKETS.map((b) => [String(b), 0])), sum: 0, count: 0 };
    const observed: number[] = [];
    const other = {
      upperBounds: BUCKETS,
      hashMap: { 'operation:get': series },
      labels: () => ({
        observe: (value: number) => {
          observed.push(value);
          for (const bound of BUCKETS) if (value <= bound) series.bucketValues[String(bound)]! += 1;
          series.sum += value;
          series.count += 1;
        },
      }),
    };
    const observe = countedSeries(other as unknown as Histogram<'operation'>, { operation: 'get' });
    for (const value of [0.002, 0.2, 7]) observe(value);
    expect(observed).toEqual([0.002, 0.2, 7]);
  });

  it('negative values, a refused value first, remove and zero: as prom-client', async () => {
    const { counted, reference } = pair();
    const observe = countedSeries(counted.histogram, labels);
    const child = reference.histogram.labels(labels);
    expect(() => observe(Number.NaN)).toThrow(TypeError);
    for (const value of [-1, -0, 0.003, -0.5]) {
      observe(value);
      child.observe(value);
    }
    expect(await counted.registry.metrics()).toBe(await reference.registry.metrics());
    counted.histogram.remove(labels);
    reference.histogram.remove(labels);
    counted.histogram.zero(labels);
    reference.histogram.zero(labels);
    for (const value of [0.2, 9]) {
      observe(value);
      child.observe(value);
    }
    expect(await counted.registry.metrics()).toBe(await reference.registry.metrics());
    expect(await counted.registry.getMetricsAsJSON()).toEqual(await reference.registry.getMetricsAsJSON());
  });

  it('through measuredStore: each successful store call is one observation of its operation', async () => {
    const metrics = new Metrics();
    const store = measuredStore(new MemoryStore(), metrics);
    await store.putRecord('k', 'a', { n: 1 });
    for (let i = 0; i < 5; i++) await store.getRecord('k', 'a');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/baton_storage_seconds_count\{backend="memory",operation="getRecord",result="ok"\} 5\n/);
    expect(text).toMatch(/baton_storage_seconds_count\{backend="memory",operation="putRecord",result="ok"\} 1\n/);
    expect(text).toMatch(/baton_storage_seconds_bucket\{le="\+Inf",backend="memory",operation="getRecord",result="ok"\} 5\n/);
    await store.close();
  });
});
