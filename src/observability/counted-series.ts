// One series of a prom-client histogram observed on a hot path: every store call of every request
// (metrics.ts measuredStore). prom-client's bound child converts, validates and hashes its labels on
// each observe, about half of what timing a store call costs (bench/README.md); this adds to the
// series' counts in place instead. The counts stay prom-client's own, so scrapes, resets and the
// registry see an ordinary histogram.
//
// It relies on one structure prom-client does not document: a histogram's series by label hash
// (`hashMap`), each with `bucketValues` keyed by upper bound, `sum` and `count`, as prom-client 15
// keeps them. Where that shape is not found (another version), every observation goes through
// prom-client's own `observe`, as before; test/observability/counted-series.test.ts compares the two
// paths' exposition after the same observations, so an upgrade that changes it fails there.
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

/** `observe(seconds)` for the series of `labels`: prom-client's observe, then counted in place once its series is found. */
export function countedSeries<L extends string>(histogram: Histogram<L>, labels: LabelValues<L>): (value: number) => void {
  const child = histogram.labels(labels);
  const state = histogram as unknown as HistogramState;
  const bounds = Array.isArray(state.upperBounds) && state.upperBounds.every((b) => typeof b === 'number') ? state.upperBounds : undefined;
  const keys = bounds?.map(String);
  /** The series' key in `hashMap` once found; undefined: not yet (or never: prom-client's own observe). */
  let key: string | undefined;
  let searched = false;
  return (value) => {
    const series = key === undefined || !Number.isFinite(value) ? undefined : state.hashMap?.[key];
    if (series === undefined) {
      // The first observation, after a reset, or a value prom-client refuses (it throws TypeError).
      child.observe(value);
      if (!searched && bounds) key = findSeries(state, labels, keys!);
      searched = true;
      return;
    }
    let i = 0;
    while (i < bounds!.length && value > bounds![i]!) i++;
    // Above the last bound: only the count (and so +Inf), as prom-client's observe.
    if (i < keys!.length) series.bucketValues[keys![i]!]! += 1;
    series.sum += value;
    series.count += 1;
  };
}

/** The key of the series of `labels`, if it has the shape counted here. */
function findSeries(state: HistogramState, labels: Readonly<Record<string, unknown>>, keys: readonly string[]): string | undefined {
  for (const [key, series] of Object.entries(state.hashMap ?? {})) {
    if (!series || !sameLabels(series.labels, labels)) continue;
    const shaped = typeof series.sum === 'number' && typeof series.count === 'number' && typeof series.bucketValues === 'object' && series.bucketValues !== null
      && keys.every((bound) => typeof series.bucketValues[bound] === 'number');
    return shaped ? key : undefined;
  }
  return undefined;
}

function sameLabels(a: Readonly<Record<string, unknown>> | undefined, b: Readonly<Record<string, unknown>>): boolean {
  if (!a) return false;
  const names = Object.keys(b);
  return Object.keys(a).length === names.length && names.every((name) => a[name] === b[name]);
}
