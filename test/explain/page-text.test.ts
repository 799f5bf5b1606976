// A page's text as bytes (src/explain/page-text.ts): what it assembles is the JSON text the same
// pieces make as strings, numbers as JSON writes them, across growth and with multibyte text.
import { describe, expect, it } from 'vitest';

import { PageText } from '../../src/explain/page-text.ts';

describe('PageText', () => {
  it('numbers as JSON writes them: whole ones digit by digit, the others as JSON.stringify', () => {
    const text = new PageText();
    const values = [0, 7, 10, 99, 100, 1_796_580_683_462, Number.MAX_SAFE_INTEGER, 12.5, -3, 1e21, 2 ** 53 + 2, Number.NaN, Number.POSITIVE_INFINITY];
    for (const value of values) expect(text.number(value).take()).toBe(JSON.stringify(value));
  });

  it('joins ASCII, UTF-8 text and copied bytes into one string, growing as it goes, empty again after take', () => {
    const text = new PageText();
    const source = Buffer.from('..{"name":"Zoë ✓ 𝄞"}..', 'utf8');
    const long = Buffer.from(JSON.stringify({ pad: 'ü'.repeat(20_000) }), 'utf8');
    let expected = '';
    for (let i = 0; i < 40; i++) {
      text.ascii('[').copy(source, 2, source.length - 2).ascii(',').utf8('"Zoë"').ascii(',').number(i).ascii(',').copy(long, 0, long.length).ascii(']');
      expected += `[{"name":"Zoë ✓ 𝄞"},"Zoë",${i},${long.toString()}]`;
    }
    expect(text.take()).toBe(expected);
    expect(text.ascii('{}').take()).toBe('{}');
  });

  it('begin drops what a page abandoned half-way left; a page past 1 MiB is assembled whole', () => {
    const text = new PageText();
    text.ascii('{"v":5,"traces":[');
    expect(text.begin().ascii('[]').take()).toBe('[]');
    const big = 'x'.repeat(3 * 1024 * 1024);
    expect(text.begin().ascii('"').utf8(big).ascii('"').take()).toBe(`"${big}"`);
    expect(text.begin().number(42).take()).toBe('42');
  });
});
