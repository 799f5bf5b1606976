// The passthrough userinfo endpoint (OpenID Connect Core section 5.3), protected by Baton's own
// access token of this issuer (RFC 6750: Bearer in the Authorization header; errors as
// WWW-Authenticate challenges). The claims are the account's mapped claims for the token's
// scopes, or whatever the provider-level buildUserInfoClaims hook returns, with Baton's `sub`.
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Context } from 'koa';

import { publicJwks } from '../keys/keyset.ts';
import { merged } from '../lang/merged.ts';
import { ACCOUNT_KIND, type AccountRecord } from '../provider/accounts.ts';
import type { PassthroughDeps, PassthroughEntry } from './entries.ts';
import { answering, bearerError } from './errors.ts';
import { claimsFor } from './issue.ts';

export async function userinfo(ctx: Context, deps: PassthroughDeps, entry: PassthroughEntry): Promise<void> {
  await answering(ctx, async () => {
    const payload = await bearer(ctx, deps, entry);
    const scopes = String(payload.scope).split(' ');
    if (!scopes.includes('openid')) throw bearerError(entry.issuer, 'insufficient_scope', 'the access token was not issued with the openid scope');
    const sub = String(payload.sub);
    const account = (await deps.store.getRecord<AccountRecord>(ACCOUNT_KIND, sub))?.value;
    if (!deps.hooks.has(undefined, 'buildUserInfoClaims')) {
      ctx.body = merged(claimsFor(account?.claims ?? {}, scopes), { sub });
      return;
    }
    const claims = await deps.hooks.run(undefined, 'buildUserInfoClaims', {
      client: { id: String(payload.client_id) },
      flow: 'userinfo',
      scopes,
      params: {},
      user: { sub, upstream: account?.upstream, upstreamSubject: account?.upstreamSubject, claims: account?.claims ?? {}, attrs: account?.attrs ?? {} },
      requestId: String(ctx.state.requestId ?? ''),
    });
    ctx.body = merged(claims, { sub });
  });
}

/** RFC 6750 section 2.1 and RFC 9068 section 4: a JWT access token of this issuer, signed with Baton's keys. */
async function bearer(ctx: Context, deps: PassthroughDeps, entry: PassthroughEntry): Promise<JWTPayload> {
  const header = ctx.get('authorization');
  if (header === '') throw bearerError(entry.issuer);
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  if (!match) throw bearerError(entry.issuer, 'invalid_request', 'the Authorization header is not a Bearer token');
  try {
    const { payload } = await jwtVerify(match[1]!, createLocalJWKSet(publicJwks(deps.keys(), Math.floor(deps.clock() / 1000))), {
      issuer: entry.issuer, typ: 'at+jwt', algorithms: [...deps.config.keys.signing], requiredClaims: ['sub', 'exp', 'client_id', 'scope'],
      currentDate: new Date(deps.clock()),
    });
    return payload;
  } catch (err) {
    const reason = err instanceof joseErrors.JWTExpired ? 'the access token has expired' : 'the access token is invalid';
    throw bearerError(entry.issuer, 'invalid_token', reason);
  }
}
