// Durations in the configuration: a number of seconds, or a string such as "90s", "15m", "8h", "14d".
import { z } from 'zod';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
const DURATION = /^(\d+)(s|m|h|d)$/;

/** Parses "15m" / 900 into seconds; returns undefined for anything else. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value > 0 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  return seconds > 0 ? seconds : undefined;
}

/** A positive duration, written as seconds or with a unit; always yields seconds. */
export function duration(description: string) {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const seconds = parseDuration(value);
      if (seconds === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a positive duration: seconds, or a number followed by s, m, h or d (e.g. "15m")',
        });
        return z.NEVER;
      }
      return seconds;
    })
    .describe(description);
}

/**
 * A refresh token's reuse grace window (grants/rotate-once.ts), the same setting for Baton's own
 * clients and for passthrough: a duration, or 0 for strict single use; 10 s by default.
 */
export function reuseGrace(description: string) {
  return z.union([z.literal(0), duration('x')]).prefault(10).describe(description);
}
