// The BFF's cookie attributes (RFC 6265bis section 4.1.3, RFC 10017 section 6.1.3.2): on https the
// `__Host-` prefix with Secure, Path=/ and no Domain; HttpOnly always; SameSite as configured for the
// session and Lax for the sign-in binding; only a random id's shape is ever read back.
import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';

import { cookieJar, randomId } from '../../src/bff/cookie.ts';

function fakeContext(cookieHeader = ''): { ctx: Context; set: string[] } {
  const set: string[] = [];
  const ctx = { get: (name: string) => (name.toLowerCase() === 'cookie' ? cookieHeader : ''), append: (_name: string, value: string) => set.push(value) } as unknown as Context;
  return { ctx, set };
}

describe('BFF cookies', () => {
  it('on https: __Host- prefix, Secure, Path=/, no Domain, HttpOnly, SameSite=Strict by default', () => {
    const { ctx, set } = fakeContext();
    const jar = cookieJar('https://login.example.com', 'spa', 'strict');
    const id = randomId();
    jar.setSession(ctx, id, 43200);
    jar.setLogin(ctx, randomId(), 3600);
    expect(set[0]).toBe(`__Host-baton-bff-spa=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure`);
    expect(set[1]).toMatch(/^__Host-baton-bff-spa\.login=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure$/);
    expect(set.join('\n')).not.toMatch(/domain=/i);
  });

  it('on an http localhost issuer: no prefix and no Secure (browsers would drop it); SameSite=Lax when configured', () => {
    const { ctx, set } = fakeContext();
    cookieJar('http://localhost:4000', 'spa', 'lax').setSession(ctx, 'x'.repeat(43), 60);
    expect(set[0]).toBe(`baton-bff-spa=${'x'.repeat(43)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60`);
  });

  it('reads back only values shaped like a random id, by exact name', () => {
    const id = randomId();
    const jar = cookieJar('https://login.example.com', 'spa', 'strict');
    expect(jar.session(fakeContext(`a=b; __Host-baton-bff-spa=${id}`).ctx)).toBe(id);
    expect(jar.session(fakeContext(`__Host-baton-bff-spa=${id}x`).ctx)).toBeUndefined();
    expect(jar.session(fakeContext(`__Host-baton-bff-spa=../../etc`).ctx)).toBeUndefined();
    expect(jar.session(fakeContext(`baton-bff-spa=${id}`).ctx)).toBeUndefined();
    expect(jar.session(fakeContext(`__Host-baton-bff-spa.login=${id}`).ctx)).toBeUndefined();
  });

  it('no entry\'s session cookie is another entry\'s login cookie, whatever the ids (x and x-login)', () => {
    const names = (id: string) => {
      const { ctx, set } = fakeContext();
      const jar = cookieJar('https://login.example.com', id, 'strict');
      jar.setSession(ctx, randomId(), 60);
      jar.setLogin(ctx, randomId(), 60);
      return set.map((line) => line.slice(0, line.indexOf('=')));
    };
    const [xSession, xLogin] = names('x');
    const [otherSession, otherLogin] = names('x-login');
    expect(new Set([xSession, xLogin, otherSession, otherLogin]).size).toBe(4);
    // And entry x-login's session is not read from x's sign-in cookie.
    const id = randomId();
    expect(cookieJar('https://login.example.com', 'x-login', 'strict').session(fakeContext(`${xLogin}=${id}`).ctx)).toBeUndefined();
  });
});
