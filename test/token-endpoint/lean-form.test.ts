// How the lean token path reads a form body (src/http/lean-token.ts singleValued): without
// querystring's character loop, yet to exactly what querystring.parse says, for every body: the same
// parameters, and the same refusal (undefined: the full pipeline answers) of a repeated or empty one.
import { randomInt } from 'node:crypto';
import { parse } from 'node:querystring';

import { describe, expect, it } from 'vitest';

import { singleValued } from '../../src/http/lean-token.ts';

/** The reading before: querystring.parse, then one non-empty value per parameter. */
function reference(body: string): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(parse(body))) {
    if (typeof value !== 'string' || value === '') return undefined;
    params[key] = value;
  }
  return params;
}

function same(body: string): void {
  const read = singleValued(Buffer.from(body));
  const expected = reference(body);
  expect(read, JSON.stringify(body)).toEqual(expected);
  // The same own keys in the same order, and no prototype member set from the body.
  if (read && expected) {
    expect(Object.keys(read)).toEqual(Object.keys(expected));
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
  }
}

describe('the lean path reads a form body as querystring does', () => {
  it('a token exchange request, escapes and plus signs', () => {
    same('grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&resource=https%3A%2F%2Fapi.example&scope=read+write');
    same('a=%E2%82%AC+b&c+d=%2B&e=%25');
    same('grant_type=client_credentials');
  });

  it('refuses what querystring reads as repeated or empty: a repeated key (also once escaped), an empty value, a key alone', () => {
    for (const body of ['a=1&a=2', 'a=1&%61=2', 'a=1&b=', 'a=1&b', 'a=&a=', '=&a=1', '&=&']) {
      expect(singleValued(Buffer.from(body)), body).toBeUndefined();
      same(body);
    }
  });

  it('malformed escapes, stray separators, an empty key, __proto__ and Object.prototype names', () => {
    for (const body of [
      '', '&', '&&a=1&&', 'a==b', '=x', '=x&a=1', 'a=%zz', 'a=%', 'x=%41%4', 'a=%C3%28', '%zz=1', 'a=1&%=2',
      '__proto__=x&a=1', '__proto__=x&__proto__=y', '%5F%5Fproto%5F%5F=x', 'constructor=x', 'toString=1&toString=2', 'hasOwnProperty=x',
      '1=a&b=2&0=c', 'a=caf%C3%A9&b=%F0%9F%98%80',
    ]) same(body);
  });

  it('past querystring\'s 1,000 pairs, later ones are dropped as it drops them', () => {
    same(Array.from({ length: 1200 }, (_, i) => `k${i}=v`).join('&'));
    same(Array.from({ length: 999 }, (_, i) => `k${i}=v`).join('&'));
  });

  it('random bodies of form characters', () => {
    const alphabet = ['a', 'b', '=', '&', '+', '%', '2', 'B', 'F', 'z', 'C3', '%41', '%C3%A9', '_', '.'];
    for (let n = 0; n < 3000; n += 1) {
      same(Array.from({ length: randomInt(0, 14) }, () => alphabet[randomInt(alphabet.length)]).join(''));
    }
  });
});
