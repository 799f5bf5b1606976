// `npm run bench`: every benchmark under bench/, one after another (each needs the CPUs to itself),
// their own reports streamed as they run, then one table of the figures and ratios they recorded.
// Baton is measured as it is installed: compiled (`npm run build` first, then BENCH_BATON=dist for the
// benchmarks that load Baton either way: client_credentials, endpoints, tracing). Its TypeScript
// sources under tsx cost more per request than the build does (tsx names every function it creates at
// run time through Object.defineProperty: bench/README.md, 2026-12-07); BENCH_BATON=src measures them.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { SummaryRow } from './support.ts';

interface Benchmark {
  readonly name: string;
  readonly file: string;
  /** Workloads of this benchmark that can be named alone (`npm run bench -- code refresh`): passed as arguments. */
  readonly parts?: readonly string[];
  /** Other names that select the whole benchmark. */
  readonly aliases?: readonly string[];
}

const BENCHMARKS: readonly Benchmark[] = [
  { name: 'client_credentials', file: 'client-credentials.ts', aliases: ['memory'] },
  { name: 'endpoints', file: 'endpoints.ts', parts: ['discovery', 'jwks', 'introspection', 'userinfo', 'code', 'refresh', 'token_exchange'] },
  { name: 'sign_in', file: 'sign-in.ts' },
  { name: 'growth', file: 'growth.ts', parts: ['clients', 'resources', 'authorizers_configured', 'authorizers_asked'] },
  { name: 'storage', file: 'storage.ts' },
  { name: 'authorizers', file: 'authorizers.ts' },
  { name: 'refresh_storm', file: 'refresh-storm.ts' },
  { name: 'tracing', file: 'tracing.ts' },
];

/** What to run of `bench` for the names given: undefined (skip), [] (all of it), or some of its parts. */
function selection(bench: Benchmark, only: readonly string[]): string[] | undefined {
  if (only.length === 0 || only.includes(bench.name) || bench.aliases?.some((a) => only.includes(a))) return [];
  const parts = (bench.parts ?? []).filter((part) => only.includes(part));
  return parts.length > 0 ? parts : undefined;
}

function run(file: string, args: readonly string[], summaryFile: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args], {
      stdio: 'inherit',
      env: { ...env, BENCH_SUMMARY_FILE: summaryFile },
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
  const known = BENCHMARKS.flatMap((b) => [b.name, ...(b.parts ?? []), ...(b.aliases ?? [])]);
  const unknown = only.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${known.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const env = { ...process.env };
  if (env.BENCH_BATON !== 'src') {
    console.log('building Baton (npm run build): the benchmarks measure dist/, as installed (BENCH_BATON=src: the sources under tsx)');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit' });
    env.BENCH_BATON = 'dist';
  }
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const summaryFile = join(dir, 'summary.jsonl');
  const failed: string[] = [];
  try {
    for (const bench of BENCHMARKS) {
      const args = selection(bench, only);
      if (args === undefined) continue;
      console.log(`\n=== ${bench.name}${args.length > 0 ? `: ${args.join(', ')}` : ''} (bench/${bench.file}) ===`);
      if ((await run(bench.file, args, summaryFile, env)) !== 0) failed.push(bench.name);
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
