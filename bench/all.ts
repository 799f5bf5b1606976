// `npm run bench`: every benchmark under bench/, one after another (each needs the CPUs to itself),
// their own reports streamed as they run, then one table of the figures and ratios they recorded.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { SummaryRow } from './support.ts';

const BENCHMARKS = [
  { name: 'client_credentials', file: 'client-credentials.ts' },
  { name: 'storage', file: 'storage.ts' },
  { name: 'authorizers', file: 'authorizers.ts' },
  { name: 'refresh_storm', file: 'refresh-storm.ts' },
  { name: 'tracing', file: 'tracing.ts' },
] as const;

function run(file: string, summaryFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url))], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_SUMMARY_FILE: summaryFile },
    });
    // Ctrl-C reaches the child through the terminal's process group; the child stops its own children.
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function printTable(rows: readonly SummaryRow[]): void {
  const header = ['benchmark', 'figure', 'value', 'target'];
  const cells = rows.map((r) => [r.benchmark, r.figure, r.value, r.target ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  for (const row of [header, widths.map((w) => '-'.repeat(w)), ...cells]) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const summaryFile = join(dir, 'summary.jsonl');
  const failed: string[] = [];
  try {
    for (const bench of BENCHMARKS) {
      if (only.length > 0 && !only.includes(bench.name)) continue;
      console.log(`\n=== ${bench.name} (bench/${bench.file}) ===`);
      if ((await run(bench.file, summaryFile)) !== 0) failed.push(bench.name);
    }
    let rows: SummaryRow[] = [];
    try {
      rows = readFileSync(summaryFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as SummaryRow);
    } catch {
      // no benchmark got as far as its report
    }
    console.log(`\n=== summary (node ${process.version}; ratios are what to compare between runs: absolute figures drift on shared machines) ===`);
    printTable(rows);
    if (failed.length > 0) {
      console.log(`\nfailed: ${failed.join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
