// Small helpers every benchmark runner shares: numeric settings from the environment, free ports.
import { appendFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** BENCH_BATON=dist: Baton from dist/ (`npm run build`), compiled, as installed; else src/ under tsx. */
export const BATON_DIST = process.env.BENCH_BATON === 'dist';

/**
 * The URL a benchmark child imports Baton's module `path` (e.g. 'server', 'config/load') from:
 * `from` when given (another tree's dist/ or src/), else dist/ with BENCH_BATON=dist, else src/ (under tsx).
 */
export function batonModule(path: string, from?: string): string {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = from ?? join(root, BATON_DIST ? 'dist' : 'src');
  const compiled = existsSync(join(dir, 'server.js'));
  return pathToFileURL(join(dir, `${path}.${compiled ? 'js' : 'ts'}`)).href;
}

/** BENCH_BATON=dist measures dist/ as it is: stop when there is none, warn when src/ changed since. */
export function checkBuild(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const built = statSync(join(root, 'dist', 'server.js'), { throwIfNoEntry: false });
  if (!built) throw new Error('BENCH_BATON=dist: no dist/server.js; run `npm run build` first');
  const newer = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && statSync(join(root, 'src', file)).mtimeMs > built.mtimeMs);
  if (newer.length > 0) console.log(`note: dist/ is older than ${newer.length} file(s) of src/ (${newer[0]}, ...): run \`npm run build\` to measure them`);
}

/** A positive number from `name`, or `fallback` when unset. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * A TCP port nothing listens on, picked below the kernel's ephemeral range as the tests pick theirs
 * (a closed listen(0) port can be taken as an outgoing connection's source port before the child listens).
 */
export { freePort } from '../test/helpers/free-port.ts';

/** One line of the combined table `npm run bench` prints. */
export interface SummaryRow {
  readonly benchmark: string;
  readonly figure: string;
  readonly value: string;
  /** The ratio this benchmark is judged by, with its target, when the figure is one. */
  readonly target?: string;
}

/**
 * Hands figures to the runner of all benchmarks (bench/all.ts), which sets BENCH_SUMMARY_FILE; a
 * benchmark run on its own prints its own report and this does nothing.
 */
export function recordSummary(rows: readonly SummaryRow[]): void {
  const file = process.env.BENCH_SUMMARY_FILE;
  if (file) appendFileSync(file, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
}
