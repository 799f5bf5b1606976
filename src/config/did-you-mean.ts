// "did you mean `clientSecret`?" for an unknown configuration key: the keys the schema accepts at
// that path, and the nearest one by edit distance (spelling and case/underscore variants).
import type { z } from 'zod';

import type { ConfigPath } from './issues.ts';

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly element?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly valueType?: z.ZodType;
  readonly left?: z.ZodType;
  readonly right?: z.ZodType;
  getter?(): z.ZodType;
}

const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The object schemas a value at `path` may be checked against (several under a union). */
function objectsAt(schema: z.ZodType, path: ConfigPath): Def[] {
  const d = def(schema);
  switch (d.type) {
    case 'optional': case 'nullable': case 'default': case 'prefault': case 'readonly': case 'catch': case 'nonoptional':
      return d.innerType ? objectsAt(d.innerType, path) : [];
    case 'pipe':
      return d.in ? objectsAt(d.in, path) : [];
    case 'lazy':
      return d.getter ? objectsAt(d.getter(), path) : [];
    case 'union':
      return (d.options ?? []).flatMap((option) => objectsAt(option, path));
    case 'intersection':
      return [d.left, d.right].flatMap((side) => (side ? objectsAt(side, path) : []));
  }
  if (path.length === 0) return d.type === 'object' ? [d] : [];
  const [head, ...rest] = path;
  if (d.type === 'array' && typeof head === 'number' && d.element) return objectsAt(d.element, rest);
  if (d.type === 'record' && d.valueType) return objectsAt(d.valueType, rest);
  if (d.type === 'object' && typeof head === 'string' && d.shape?.[head]) return objectsAt(d.shape[head], rest);
  return [];
}

/** The accepted key nearest to `key` under `parent`, if one is close enough to be a likely typo. */
export function nearestKey(schema: z.ZodType, parent: ConfigPath, key: string): string | undefined {
  const known = new Set(objectsAt(schema, parent).flatMap((d) => Object.keys(d.shape ?? {})));
  const fold = (s: string) => s.toLowerCase().replaceAll(/[_-]/g, '');
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    // Spelling distance, or case and underscores aside (clientSecrett -> client_secret), whichever is nearer.
    const distance = Math.min(editDistance(key, name), editDistance(fold(key), fold(name)));
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
