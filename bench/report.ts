// Tallies of the benchmark's measured slices per server, and the printed table and ratios.
import type { LoadResult } from './load.ts';
import { recordSummary } from './support.ts';

export class Tally {
  seconds = 0;
  requests = 0;
  failures = { non2xx: 0, errors: 0 };
  cpuMicros = 0;
  rss = 0;
  /** Bytes: RSS and V8 heap used once started (idle) and the highest mid-slice sample under load. */
  readonly memory = { idleRss: 0, idleHeap: 0, loadRss: 0, loadHeap: 0 };
  readonly latencies: number[] = [];
  /** CPU µs per request of each measured slice. */
  readonly slices: number[] = [];

  constructor(readonly name: string) {}

  add(load: LoadResult, cpuMicros: number): void {
    this.seconds += load.seconds;
    this.requests += load.total;
    this.failures.non2xx += load.non2xx;
    this.failures.errors += load.errors + load.timeouts;
    this.cpuMicros += cpuMicros;
    if (load.total > 0) this.slices.push(cpuMicros / load.total);
    for (const ms of load.latencies) this.latencies.push(ms);
  }

  get requestsPerSecond(): number { return this.requests / this.seconds; }
  get cpuMicrosPerRequest(): number { return this.cpuMicros / Math.max(this.requests, 1); }
  /**
   * The lowest CPU µs per request of any slice: other work on a shared machine only ever adds to a
   * process's CPU time (cache and scheduler interference), so the best slice is the steadiest
   * estimate of the cost itself when the machine is busy.
   */
  get bestSliceCpu(): number { return this.slices.length > 0 ? Math.min(...this.slices) : this.cpuMicrosPerRequest; }

  percentile(p: number): number {
    const sorted = Float64Array.from(this.latencies).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  }
}

export function printReport(baton: Tally, bare: Tally): void {
  const header = ['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'best slice', 'RSS MiB', 'requests', 'non-2xx', 'errors'];
  const rows = [baton, bare].map((t) => [
    t.name,
    t.requestsPerSecond.toFixed(0),
    t.percentile(50).toFixed(2),
    t.percentile(99).toFixed(2),
    t.cpuMicrosPerRequest.toFixed(0),
    t.bestSliceCpu.toFixed(0),
    (t.rss / 2 ** 20).toFixed(1),
    String(t.requests),
    String(t.failures.non2xx),
    String(t.failures.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  console.log('');
  console.log(`throughput Baton/bare:     ${(baton.requestsPerSecond / bare.requestsPerSecond).toFixed(2)}   Target now: ratio >= 1.0 (throughput Baton/bare). Later: >= 1.3`);
  console.log(`CPU µs/request bare/Baton: ${(bare.cpuMicrosPerRequest / baton.cpuMicrosPerRequest).toFixed(2)}   (above 1: Baton spends less CPU per token; best slices: ${(bare.bestSliceCpu / baton.bestSliceCpu).toFixed(2)})`);
  recordSummary([
    { benchmark: 'client_credentials', figure: 'Baton req/s (p50 ms)', value: `${baton.requestsPerSecond.toFixed(0)} (${baton.percentile(50).toFixed(2)})` },
    { benchmark: 'client_credentials', figure: 'bare oidc-provider req/s (p50 ms)', value: `${bare.requestsPerSecond.toFixed(0)} (${bare.percentile(50).toFixed(2)})` },
    { benchmark: 'client_credentials', figure: 'throughput Baton/bare', value: (baton.requestsPerSecond / bare.requestsPerSecond).toFixed(2), target: '>= 1.0 (later >= 1.3)' },
    { benchmark: 'client_credentials', figure: 'CPU per request bare/Baton (best slices)', value: `${(bare.cpuMicrosPerRequest / baton.cpuMicrosPerRequest).toFixed(2)} (${(bare.bestSliceCpu / baton.bestSliceCpu).toFixed(2)})` },
  ]);
  printMemory(baton, bare);
  const failed = [baton, bare].filter((t) => t.failures.non2xx + t.failures.errors > 0);
  if (failed.length > 0) console.log(`note: non-2xx responses or socket errors during the run (${failed.map((t) => t.name).join(', ')}): those figures include failures`);
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** Issue 16 target 5: idle RSS below 120 MiB, below 160 MiB under the client_credentials load. */
function printMemory(baton: Tally, bare: Tally): void {
  console.log('');
  console.log('memory (MiB)   idle RSS  idle heap  RSS under load  heap under load');
  for (const t of [baton, bare]) {
    const m = t.memory;
    console.log(`${t.name.padEnd(13)}  ${mib(m.idleRss).padStart(8)}  ${mib(m.idleHeap).padStart(9)}  ${mib(m.loadRss).padStart(14)}  ${mib(m.loadHeap).padStart(15)}`);
  }
  console.log('targets (Baton): idle RSS < 120 MiB, RSS under the client_credentials load < 160 MiB');
  // Named after the servers measured: "Baton dist" is the compiled build (BENCH_BATON=dist).
  const who = `${baton.name} (${bare.name})`;
  recordSummary([
    { benchmark: 'memory', figure: `idle RSS MiB ${who}`, value: `${mib(baton.memory.idleRss)} (${mib(bare.memory.idleRss)})`, target: '< 120' },
    { benchmark: 'memory', figure: `RSS MiB under client_credentials load ${who}`, value: `${mib(baton.memory.loadRss)} (${mib(bare.memory.loadRss)})`, target: '< 160' },
    { benchmark: 'memory', figure: `heap used MiB idle / under load ${who}`, value: `${mib(baton.memory.idleHeap)} / ${mib(baton.memory.loadHeap)} (${mib(bare.memory.idleHeap)} / ${mib(bare.memory.loadHeap)})` },
  ]);
}
