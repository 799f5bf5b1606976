// The verdict bench/growth.ts prints for one dimension, computed from its figures: CPU per request
// at three or more sizes n, smallest first.

export interface Point { n: number; cpu: number }
export interface Verdict { kind: 'flat' | 'logarithmic' | 'linear'; text: string }

/** Below this rise from the smallest to the largest size, the curve is flat (run-to-run noise here is ~5-10 %). */
const FLAT = 0.15;

/**
 * Flat when the largest size costs less than 15 % more than the smallest. Otherwise the middle
 * point decides: a logarithmic curve has risen log(n_mid/n_min)/log(n_max/n_min) of the way at the
 * middle size, a linear one (n_mid-n_min)/(n_max-n_min); whichever is closer to what was measured.
 */
export function verdict(points: readonly Point[]): Verdict {
  const sorted = [...points].sort((a, b) => a.n - b.n);
  const first = sorted[0]!;
  const last = sorted.at(-1)!;
  const rise = (last.cpu - first.cpu) / first.cpu;
  const perItem = (last.cpu - first.cpu) / (last.n - first.n);
  const detail = `${(rise * 100).toFixed(0)} % from ${first.n} to ${last.n} (${perItem.toFixed(2)} µs per added item)`;
  if (rise < FLAT || sorted.length < 3) return { kind: 'flat', text: `flat: ${detail}` };
  const middle = sorted[Math.floor(sorted.length / 2)]!;
  const measured = (middle.cpu - first.cpu) / (last.cpu - first.cpu);
  const logarithmic = Math.log(middle.n / first.n) / Math.log(last.n / first.n);
  const linear = (middle.n - first.n) / (last.n - first.n);
  const kind = Math.abs(measured - logarithmic) <= Math.abs(measured - linear) ? 'logarithmic' : 'linear';
  return { kind, text: `${kind}: ${detail}; at n=${middle.n} ${(measured * 100).toFixed(0)} % of the rise (logarithmic would be ${(logarithmic * 100).toFixed(0)} %, linear ${(linear * 100).toFixed(0)} %)` };
}
