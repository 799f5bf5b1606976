// `baton_storage_seconds`: every store call is timed into it, several per token request. The
// exposition is prom-client's histogram's, line for line (series in order of first observation);
// what differs is the observation: each series (backend, operation, result) is resolved once, when
// the store is wrapped, so timing a call adds to an array instead of running prom-client's label
// validation and hashing (about 1 µs, some 5,000 instructions, per store call).
import type { Metric, MetricObjectWithValues, MetricValueWithName } from 'prom-client';

export type StorageLabels = { readonly backend: string; readonly operation: string; readonly result: string };

interface Series {
  readonly key: string;
  readonly labels: StorageLabels;
  /** Observations per bucket (not cumulative); the last slot holds those above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
  /** Whether it is in the exposition: from its first observation (since the last reset) on. */
  listed: boolean;
}

type Value = MetricValueWithName<string> & { sharedLabels?: StorageLabels; exemplar?: null };

export class StorageHistogram {
  readonly name = 'baton_storage_seconds';
  readonly help = 'Storage operations by backend, operation and result.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  /** Listed series, in order of first observation, as prom-client's appear. */
  readonly #series = new Map<string, Series>();
  readonly #all: Series[] = [];

  constructor(bounds: readonly number[]) {
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }

  /** The recorder of one series: seconds in, nothing else to do per call. */
  series(labels: StorageLabels): (seconds: number) => void {
    const key = `${labels.backend}\u0000${labels.operation}\u0000${labels.result}`;
    const recorded = this.#all.find((s) => s.key === key) ?? { key, labels: { backend: labels.backend, operation: labels.operation, result: labels.result }, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0, listed: false };
    if (!this.#all.includes(recorded)) this.#all.push(recorded);
    const bounds = this.#bounds;
    const listed = this.#series;
    return (seconds) => {
      if (!recorded.listed) {
        recorded.listed = true;
        listed.set(key, recorded);
      }
      let at = 0;
      while (at < bounds.length && seconds > bounds[at]!) at += 1;
      recorded.counts[at]! += 1;
      recorded.sum += seconds;
      recorded.count += 1;
    };
  }

  /** What prom-client's Registry prints (Histogram#getForPromString: series labels as `sharedLabels`). */
  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Value[] }> {
    const values: Value[] = [];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((le, at) => {
        cumulative += counts[at]!;
        values.push({ labels: { le }, sharedLabels: labels, value: cumulative, metricName: `${this.name}_bucket`, exemplar: null });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: labels, value: count, metricName: `${this.name}_bucket`, exemplar: null },
        { labels: {}, sharedLabels: labels, value: sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: labels, value: count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** As prom-client's Histogram#get: each value's series labels merged into its own. */
  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) } as unknown as MetricObjectWithValues<MetricValueWithName<string>>;
  }

  /** Registry#resetMetrics: every series gone until observed again. */
  reset(): void {
    for (const series of this.#all) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
      series.listed = false;
    }
    this.#series.clear();
  }

  /** For `Registry#registerMetric`, which needs only these members. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}
