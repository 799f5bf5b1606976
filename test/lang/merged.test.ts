// src/lang/merged.ts: `merged(base, members)` builds what `{ ...base, ...members }` builds, in the form
// Node 20's V8 gives one shared hidden class; and src/ holds no object literal that starts with a spread
// and has more members after it (the form that costs Node 20 a fresh hidden class per object).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import { merged } from '../../src/lang/merged.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('merged', () => {
  it('holds the same own properties in the same order as the spread, later members overriding in place', () => {
    const base = { a: 1, b: 'two', c: [3] };
    const result = merged(base, { b: 'second', d: 4 });
    expect(result).toEqual({ ...base, ...{ b: 'second', d: 4 } });
    expect(Object.keys(result)).toEqual(['a', 'b', 'c', 'd']);
    expect(result.c).toBe(base.c); // shallow, as the spread
    expect(result).not.toBe(base);
    expect(base).toEqual({ a: 1, b: 'two', c: [3] });
  });

  it('adds nothing for a missing base, as spreading undefined or null does', () => {
    expect(merged(undefined as { a: number } | undefined, { b: 1 })).toEqual({ b: 1 });
    expect(merged(null as { a: number } | null, { b: 1 })).toEqual({ b: 1 });
  });

  it('copies a parsed `__proto__` key as an own property and never as the prototype', () => {
    const hostile = JSON.parse('{"__proto__": {"admin": true}, "sub": "bob"}') as Record<string, unknown>;
    const result = merged(hostile, { aud: 'api' }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(result.admin).toBeUndefined();
    expect(Object.keys(result)).toEqual(['__proto__', 'sub', 'aud']);
    const spread = { ...hostile, aud: 'api' } as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')).toEqual(Object.getOwnPropertyDescriptor(spread, '__proto__'));
  });

  it('copies own enumerable properties only, symbols included, reading getters once', () => {
    const symbol = Symbol('s');
    let reads = 0;
    const base = Object.create({ inherited: true }, {
      shown: { value: 1, enumerable: true },
      hidden: { value: 2, enumerable: false },
      counted: { get: () => ++reads, enumerable: true },
      [symbol]: { value: 'sym', enumerable: true },
    }) as Record<string | symbol, unknown>;
    const result = merged(base, {}) as Record<string | symbol, unknown>;
    expect(result).toEqual({ shown: 1, counted: 1, [symbol]: 'sym' });
    expect(reads).toBe(1);
    expect('inherited' in result).toBe(false);
  });

  it('gives the objects it builds one hidden class, where the spread literal gives each its own on Node 20', () => {
    // V8 natives syntax in a child process: %HaveSameMap compares hidden classes. Both forms are
    // compiled by V8 after enough calls, which is when Node 20's spread literal starts minting classes.
    const script = `
      import { merged } from ${JSON.stringify(join(ROOT, 'src/lang/merged.ts'))};
      const spread = (i) => ({ ...{ json: 'x' + i, keys: i }, expiresAt: i, consumed: null });
      const helper = (i) => merged({ json: 'x' + i, keys: i }, { expiresAt: i, consumed: null });
      const shared = (make) => {
        const built = [];
        for (let i = 0; i < 20000; i++) built.push(make(i));
        let same = 0;
        for (let i = 19000; i < 20000; i++) if (%HaveSameMap(built[i - 1], built[i])) same++;
        return same;
      };
      console.log(JSON.stringify({ helper: shared(helper), spread: shared(spread) }));
    `;
    const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    const { helper, spread } = JSON.parse(out) as { helper: number; spread: number };
    expect(helper).toBe(1000);
    // The reason for the helper: on Node 20 the spread literal's objects share no class (fixed in Node 22).
    if (Number(process.versions.node.split('.')[0]) === 20) expect(spread).toBeLessThan(100);
  });
});

describe('src/', () => {
  it('has no object literal that starts with a spread and has more members after it (use merged)', () => {
    const src = join(ROOT, 'src');
    const offenders = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'))
      .flatMap((file) => leadingSpreads(readFileSync(join(src, file), 'utf8')).map((line) => `${relative(ROOT, join(src, file))}:${line}`));
    expect(offenders).toEqual([]);
  });

  it('the check finds the slow form, conditional spreads included', () => {
    const found = (text: string) => leadingSpreads(text).length;
    expect(found('const a = { ...b, c: 1 };')).toBe(1);
    expect(found('const a = { ...(x ? { y } : {}), c };')).toBe(1);
    expect(found('const a = { ...b, ...c };')).toBe(1);
    expect(found('const a = { c: 1, ...b };')).toBe(0);
    expect(found('const a = { ...b };')).toBe(0);
    expect(found('const a = { ...{}, ...b, c };')).toBe(0);
  });
});

/** Lines of the object literals in `text` that start with a spread (of anything but `{}`) and have more members after it. */
function leadingSpreads(text: string): number[] {
  const source = ts.createSourceFile('checked.ts', text, ts.ScriptTarget.Latest, true);
  const lines: number[] = [];
  const visit = (node: ts.Node): void => {
    const first = ts.isObjectLiteralExpression(node) && node.properties.length > 1 ? node.properties[0] : undefined;
    // `{ ...{}, ... }` is merged's own form: the spread of an empty literal is built the ordinary way.
    if (first && ts.isSpreadAssignment(first) && !(ts.isObjectLiteralExpression(first.expression) && first.expression.properties.length === 0)) {
      lines.push(source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return lines;
}
