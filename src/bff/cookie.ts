// The BFF's cookies (RFC 10017 section 6.1.3.2, RFC 6265bis section 4.1.3): HttpOnly, Path=/, no
// Domain, Secure with the `__Host-` prefix on https (plain http only on localhost, where browsers
// refuse Secure), SameSite=Strict by default. The session cookie holds a random id, nothing else.
import { createHash, randomBytes } from 'node:crypto';

import type { Context } from 'koa';

export interface CookieJar {
  /** The session cookie's value, if the browser sent one. */
  session(ctx: Context): string | undefined;
  setSession(ctx: Context, value: string, maxAgeSeconds: number): void;
  clearSession(ctx: Context): void;
  /** The short-lived cookie binding a sign-in's `state` to this browser (SameSite=Lax: it comes back on the redirect). */
  login(ctx: Context): string | undefined;
  setLogin(ctx: Context, value: string, maxAgeSeconds: number): void;
  clearLogin(ctx: Context): void;
}

export function cookieJar(issuer: string, id: string, sameSite: 'strict' | 'lax'): CookieJar {
  const secure = new URL(issuer).protocol === 'https:';
  const prefix = secure ? '__Host-' : '';
  const sessionName = `${prefix}baton-bff-${id}`;
  // `.` cannot appear in a BFF id: no entry's session cookie can be another's login cookie (with
  // `-login`, entry `x-login`'s session cookie was entry `x`'s login cookie).
  const loginName = `${prefix}baton-bff-${id}.login`;
  const write = (ctx: Context, name: string, value: string, maxAge: number, site: 'strict' | 'lax') => {
    const attributes = [`${name}=${value}`, 'Path=/', 'HttpOnly', `SameSite=${site === 'strict' ? 'Strict' : 'Lax'}`, `Max-Age=${maxAge}`, ...(secure ? ['Secure'] : [])];
    ctx.append('Set-Cookie', attributes.join('; '));
  };
  return {
    session: (ctx) => readCookie(ctx, sessionName),
    setSession: (ctx, value, maxAge) => write(ctx, sessionName, value, maxAge, sameSite),
    clearSession: (ctx) => write(ctx, sessionName, '', 0, sameSite),
    login: (ctx) => readCookie(ctx, loginName),
    setLogin: (ctx, value, maxAge) => write(ctx, loginName, value, maxAge, 'lax'),
    clearLogin: (ctx) => write(ctx, loginName, '', 0, 'lax'),
  };
}

/** A cookie value; only the shape a random id has (base64url), so nothing else is ever looked up. */
function readCookie(ctx: Context, name: string): string | undefined {
  for (const part of (ctx.get('Cookie') || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
  }
  return undefined;
}

/** 256 bits of randomness, base64url (43 characters). */
export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

/** What is stored instead of a cookie value or a state: its SHA-256, so the store holds nothing presentable. */
export function storedKey(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
