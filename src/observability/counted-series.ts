// One series of a prom-client histogram observed on a hot path: every store call of every request
// (metrics.ts measuredStore). prom-client's bound child converts, validates and hashes its labels on
// each observe, about half of what timing a store call costs (bench/README.md); this adds to the
// series' counts in place instead. The counts stay prom-client's own, so scrapes, resets and the
// registry see an ordinary histogram.
//
// It relies on one structure prom-client does not document: a histogram's series by label hash
// (`hashMap`), each with `bucketValues` keyed by upper bound, `sum` and `count`, as prom-client 15
// keeps them. It counts in place only once prom-client's own observe of the first value was seen to
// change that series exactly so (count +1, sum +value, that value's bucket +1, nothing else);
// otherwise (another version, another layout) every observation goes through prom-client's observe,
// as before. test/operations/counted-series.test.ts compares the two paths' exposition after the
// same observations, so an upgrade that changes the layout fails there too.
import type { Histogram, LabelValues } from 'prom-client';

interface Series {
  readonly labels: Readonly<Record<string, unknown>>;
  readonly bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

interface HistogramState {
  readonly hashMap?: Record<string, Series | undefined>;
  readonly upperBounds?: readonly number[];
}

/**
 * `observe(seconds)` for the series of `labels` (which must not change afterwards): prom-client's
 * observe, then counted in place once its series is found and seen to be counted as here.
 */
export function countedSeries<L extends string>(histogram: Histogram<L>, labels: LabelValues<L>): (value: number) => void {
  const child = histogram.labels(labels);
  const state = histogram as unknown as HistogramState;
  const bounds = Array.isArray(state.upperBounds) && state.upperBounds.every((b) => typeof b === 'number') ? state.upperBounds : undefined;
  const keys = bounds?.map(String);
  /** The series' key in `hashMap` once verified; undefined: not yet, or never (prom-client's own observe). */
  let key: string | undefined;
  let searched = false;
  return (value) => {
    const series = key === undefined || !Number.isFinite(value) ? undefined : state.hashMap?.[key];
    if (series !== undefined) {
      const i = bucketOf(bounds!, value);
      // Above the last bound: only the count (and so +Inf), as prom-client's observe.
      if (i < keys!.length) series.bucketValues[keys![i]!]! += 1;
      series.sum += value;
      series.count += 1;
      return;
    }
    // The first observation, after a reset, or a value prom-client refuses (it throws TypeError).
    if (searched || !bounds || !Number.isFinite(value)) return child.observe(value);
    const before = findSeries(state, labels, keys!);
    const counts = before && { sum: before.series.sum, count: before.series.count, buckets: keys!.map((k) => before.series.bucketValues[k]!) };
    child.observe(value);
    searched = true;
    const after = findSeries(state, labels, keys!);
    if (after && countedAsHere(counts ?? { sum: 0, count: 0, buckets: keys!.map(() => 0) }, after.series, value, bucketOf(bounds, value), keys!)) key = after.key;
  };
}

/** The bucket of `value`: the first bound it does not exceed (prom-client's findBound); the length when none. */
function bucketOf(bounds: readonly number[], value: number): number {
  let i = 0;
  while (i < bounds.length && !(value <= bounds[i]!)) i++;
  return i;
}

/** Whether observing `value` changed the series from `before` exactly as countedSeries counts it. */
function countedAsHere(before: { sum: number; count: number; buckets: number[] }, series: Series, value: number, bucket: number, keys: readonly string[]): boolean {
  if (series.count !== before.count + 1 || series.sum !== before.sum + value) return false;
  return keys.every((k, i) => series.bucketValues[k] === before.buckets[i]! + (i === bucket ? 1 : 0));
}

/** The series of `labels` with its key, if it has the shape counted here. */
function findSeries(state: HistogramState, labels: Readonly<Record<string, unknown>>, keys: readonly string[]): { key: string; series: Series } | undefined {
  for (const [key, series] of Object.entries(state.hashMap ?? {})) {
    if (!series || typeof series !== 'object' || !sameLabels(series.labels, labels)) continue;
    const shaped = typeof series.sum === 'number' && typeof series.count === 'number' && typeof series.bucketValues === 'object' && series.bucketValues !== null
      && keys.every((bound) => typeof series.bucketValues[bound] === 'number');
    return shaped ? { key, series } : undefined;
  }
  return undefined;
}

function sameLabels(a: Readonly<Record<string, unknown>> | undefined, b: Readonly<Record<string, unknown>>): boolean {
  if (!a || typeof a !== 'object') return false;
  const names = Object.keys(b);
  return Object.keys(a).length === names.length && names.every((name) => a[name] === b[name]);
}
