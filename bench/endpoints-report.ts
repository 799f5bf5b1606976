// The table and ratios bench/endpoints.ts prints, and the rows it hands to `npm run bench`'s summary.
import type { Scenario } from './endpoints-scenarios.ts';
import type { Tally } from './report.ts';
import { recordSummary, type SummaryRow } from './support.ts';

/** `base`: Baton from another tree (BENCH_BASELINE), measured in the same slices. */
export interface Row { scenario: Scenario; baton: Tally; bare: Tally; base?: Tally; dry: string[] }

/** Issue 16's targets per workload: the machine grants must beat bare, the user grants at least match it. */
const TARGETS: Record<string, string> = {
  token_exchange: 'CPU bare/Baton >= 1.3',
  code: 'CPU bare/Baton >= 1.0',
  refresh: 'CPU bare/Baton >= 1.0',
};

export function printEndpointReport(rows: readonly Row[]): void {
  const header = ['workload', 'server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'best slice', 'requests', 'non-2xx', 'errors'];
  const cells = rows.flatMap(({ scenario, baton, bare, base }) => [baton, bare, ...(base ? [base] : [])].map((t) => [
    scenario.name, t.name, t.requestsPerSecond.toFixed(0), t.percentile(50).toFixed(2), t.percentile(99).toFixed(2), t.cpuMicrosPerRequest.toFixed(0), t.bestSliceCpu.toFixed(0),
    String(t.requests), String(t.failures.non2xx), String(t.failures.errors),
  ]));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  for (const row of [header, ...cells]) console.log(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  console.log('');
  console.log('ratios (throughput Baton/bare; CPU µs per request bare/Baton, all slices and best slices: above 1, Baton spends less CPU than bare):');
  const summary: SummaryRow[] = [];
  for (const { scenario, baton, bare, base, dry } of rows) {
    const throughput = baton.requestsPerSecond / bare.requestsPerSecond;
    const cpu = bare.cpuMicrosPerRequest / baton.cpuMicrosPerRequest;
    const best = bare.bestSliceCpu / baton.bestSliceCpu;
    const target = TARGETS[scenario.name];
    console.log(`  ${scenario.name.padEnd(14)} throughput ${throughput.toFixed(2)}  CPU ${cpu.toFixed(2)} (best ${best.toFixed(2)})${target ? `  (target ${target})` : ''}   ${scenario.label}`);
    if (base) {
      const before = bare.cpuMicrosPerRequest / base.cpuMicrosPerRequest;
      console.log(`  ${''.padEnd(14)} base: CPU bare/base ${before.toFixed(2)} (best ${(bare.bestSliceCpu / base.bestSliceCpu).toFixed(2)}); CPU Baton/base ${(baton.cpuMicrosPerRequest / base.cpuMicrosPerRequest).toFixed(2)} (best ${(baton.bestSliceCpu / base.bestSliceCpu).toFixed(2)})`);
    }
    summary.push({
      benchmark: 'endpoints',
      figure: `${scenario.name}: CPU µs/req Baton vs bare (bare/Baton; best slices)`,
      value: `${baton.cpuMicrosPerRequest.toFixed(0)} vs ${bare.cpuMicrosPerRequest.toFixed(0)} (${cpu.toFixed(2)}; ${best.toFixed(2)})`,
      ...(target ? { target } : {}),
    });
    const failed = [baton, bare, ...(base ? [base] : [])].filter((t) => t.failures.non2xx + t.failures.errors > 0);
    if (failed.length > 0) console.log(`  note: ${scenario.name}: non-2xx answers or socket errors (${failed.map((t) => t.name).join(', ')}): those figures include failures`);
    if (dry.length > 0) console.log(`  note: ${scenario.name}: the prepared artifacts ran out before the end of a slice (${dry.join(', ')}): rates stay per measured second`);
  }
  console.log('  bare\'s token exchange is the minimal reference grant of bench/endpoints-exchange.ts (oidc-provider has none).');
  recordSummary(summary);
}
