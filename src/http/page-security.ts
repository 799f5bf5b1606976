// Framing and content policy of every HTML response (RFC 9700 section 4.16, clickjacking):
// `frame-ancestors 'none'` and `X-Frame-Options: DENY`, and a policy that allows the pages' own
// content only (the inline stylesheet by hash, no script, no plugin, no base).
import { createHash } from 'node:crypto';

import type { Context } from 'koa';

import { PAGE_STYLE } from './html.ts';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * No `form-action`: browsers apply it to the redirects after a form post, and Baton's forms (consent,
 * abort, logout) end at the client's redirect_uri or the upstream's logout, on other origins.
 */
export const PAGE_POLICY = [
  "default-src 'none'",
  `style-src ${sha256(PAGE_STYLE)}`,
  "script-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Before the response is built, on every request: oidc-provider adds the hash of an inline script
 * it writes itself (the form_post response mode's auto-submit) to a script-src it finds set.
 */
export function beginPageSecurity(ctx: Context): void {
  ctx.set('Content-Security-Policy', PAGE_POLICY);
  ctx.set('X-Frame-Options', 'DENY');
}

/** After: kept on HTML only; a script hash the provider added stands alone (beside 'none' it would be ignored). */
export function endPageSecurity(ctx: Context): void {
  if (ctx.headerSent) return;
  if (!ctx.response.is('html')) {
    ctx.remove('Content-Security-Policy');
    ctx.remove('X-Frame-Options');
    return;
  }
  const policy = ctx.response.get('Content-Security-Policy');
  if (!policy) {
    beginPageSecurity(ctx);
    return;
  }
  if (/script-src 'none' 'sha256-/.test(policy)) ctx.set('Content-Security-Policy', policy.replace("script-src 'none' ", 'script-src '));
}
