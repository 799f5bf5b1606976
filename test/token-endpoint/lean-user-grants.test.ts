// Code redemption and refresh on the lean token path (src/grants/lean-provider-grant.ts: oidc-provider's
// own handlers, without the Koa pipeline in front of them) against the full pipeline of the same
// Baton (lean-bed.ts): the same request to both answers alike (status, headers in order, body, token
// headers and claims, events and the stored decision trace), for confidential and public clients.
// Refusals, single use and what goes the full way: lean-user-grants-refusals.test.ts.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';

import { ORDERS_API, SPA_REDIRECT } from '../fixtures/standard.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { baton, both, codeForm, comparable, events, form, headersOf, refreshToken, sameButId, stable, stored, useLeanBed } from './lean-bed.ts';

useLeanBed();

describe('a code redemption on the lean path issues what the full pipeline issues', () => {
  it('id_token, JWT access token and refresh token: same status, headers in order, members, token headers and claims, trace', async () => {
    const { lean, koa, leanContexts, ids } = await both(() => codeForm({ resource: ORDERS_API, resourceScope: 'orders:read' }));
    expect(lean.status).toBe(200);
    expect(leanContexts).toBe(0);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect(Object.keys(a!)).toEqual(Object.keys(b!));
    expect(Object.keys(a!)).toEqual(expect.arrayContaining(['access_token', 'id_token', 'refresh_token']));
    expect({ ...a, access_token: 0, id_token: 0, refresh_token: 0 }).toEqual({ ...b, access_token: 0, id_token: 0, refresh_token: 0 });
    for (const name of ['access_token', 'id_token'] as const) {
      expect(decodeProtectedHeader(a![name]!)).toEqual(decodeProtectedHeader(b![name]!));
      expect(Object.keys(decodeJwt(a![name]!))).toEqual(Object.keys(decodeJwt(b![name]!)));
      expect(stable(a![name]!)).toEqual(stable(b![name]!));
    }
    expect(decodeJwt(a!.access_token!)).toMatchObject({ aud: ORDERS_API, sub: 'alice', scope: 'orders:read', client_id: 'web' });
    const [ta, tb] = await Promise.all(ids.map(stored));
    expect(comparable(ta!)).toEqual(comparable(tb!));
    expect(ta!.request).toMatchObject({ endpoint: 'token', clientId: 'web', grantType: 'authorization_code' });
    expect(JSON.stringify(ta)).not.toContain(a!.access_token);
  });

  it('an opaque access token for userinfo, and the same token.issued events', async () => {
    const before = events.length;
    const { lean, koa, leanContexts } = await both(() => codeForm());
    expect(lean.status).toBe(200);
    expect(leanContexts).toBe(0);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect({ ...a, access_token: 0, id_token: 0, refresh_token: 0 }).toEqual({ ...b, access_token: 0, id_token: 0, refresh_token: 0 });
    const issued = events.slice(before).filter((e) => e.type === 'token.issued');
    expect(issued).toHaveLength(2);
    expect({ ...issued[0], tokens: 0, reqId: 0, at: 0 }).toEqual({ ...issued[1], tokens: 0, reqId: 0, at: 0 });
    // The opaque token the lean path issued answers at userinfo.
    const userinfo = await fetch(`${baton.url}/userinfo`, { headers: { authorization: `Bearer ${a!.access_token}` } });
    expect(await userinfo.json()).toMatchObject({ sub: 'alice', email: 'alice@example.com' });
  });
});

describe('a public client (no secret: client_id only) on the lean path', () => {
  const spaForm = async (extra: Record<string, string> = {}) => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'spa', redirectUri: SPA_REDIRECT });
    return form({ grant_type: 'authorization_code', client_id: 'spa', code: seeded.code, code_verifier: seeded.codeVerifier, redirect_uri: SPA_REDIRECT, ...extra });
  };

  it('redeems its code as the full pipeline does', async () => {
    const { lean, koa, leanContexts } = await both(() => spaForm(), {});
    expect(lean.status).toBe(200);
    expect(leanContexts).toBe(0);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect(Object.keys(a!)).toEqual(Object.keys(b!));
    expect(stable(a!.id_token!)).toEqual(stable(b!.id_token!));
    expect(decodeJwt(a!.id_token!).aud).toBe('spa');
  });

  it('a wrong PKCE verifier is refused alike; a secret it does not have goes the full way, refused alike', async () => {
    const wrong = await both(() => spaForm({ code_verifier: 'y'.repeat(43) }), {});
    expect(wrong.leanContexts).toBe(0);
    expect(sameButId(wrong.lean)).toEqual(sameButId(wrong.koa));
    expect(JSON.parse(wrong.lean.body)).toMatchObject({ error: 'invalid_grant' });
    const withSecret = await both(() => spaForm({ client_secret: 'not-its-secret-0123456789' }), {});
    expect(withSecret.leanContexts).toBeGreaterThan(0);
    expect(sameButId(withSecret.lean)).toEqual(sameButId(withSecret.koa));
    expect(withSecret.lean.status).toBe(401);
  });

  it('a confidential client presenting only its client_id goes the full way: invalid_client alike', async () => {
    const { lean, koa, leanContexts } = await both(async () => `${await codeForm()}&client_id=web`, {});
    expect(leanContexts).toBeGreaterThan(0);
    expect(sameButId(lean)).toEqual(sameButId(koa));
    expect(JSON.parse(lean.body)).toMatchObject({ error: 'invalid_client' });
  });
});

describe('a refresh on the lean path issues what the full pipeline issues', () => {
  it('rotated: same answer, token claims and token.refreshed events; the old token is spent on both paths', async () => {
    const before = events.length;
    const tokens: string[] = [];
    const { lean, koa, leanContexts, ids } = await both(async () => {
      tokens.push(await refreshToken());
      return form({ grant_type: 'refresh_token', refresh_token: tokens.at(-1)! });
    });
    expect(lean.status).toBe(200);
    expect(leanContexts).toBe(0);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect({ ...a, access_token: 0, id_token: 0, refresh_token: 0 }).toEqual({ ...b, access_token: 0, id_token: 0, refresh_token: 0 });
    expect(a!.refresh_token).not.toBe(tokens[0]);
    expect(stable(a!.access_token!)).toEqual(stable(b!.access_token!));
    expect(stable(a!.id_token!)).toEqual(stable(b!.id_token!));
    const refreshed = events.slice(before).filter((e) => e.type === 'token.refreshed');
    expect(refreshed).toHaveLength(2);
    expect({ ...refreshed[0], tokens: 0, reqId: 0, at: 0 }).toEqual({ ...refreshed[1], tokens: 0, reqId: 0, at: 0 });
    const [ta, tb] = await Promise.all(ids.map(stored));
    expect(comparable(ta!)).toEqual(comparable(tb!));
  });

  it('a narrower scope: the same narrower access token', async () => {
    const { lean, koa } = await both(async () => form({ grant_type: 'refresh_token', refresh_token: await refreshToken(), scope: 'openid orders:read' }));
    expect(lean.status).toBe(200);
    expect(headersOf(lean)).toEqual(headersOf(koa));
    const [a, b] = [JSON.parse(lean.body), JSON.parse(koa.body)] as Array<Record<string, string>>;
    expect(decodeJwt(a!.access_token!).scope).toBe('orders:read');
    expect(stable(a!.access_token!)).toEqual(stable(b!.access_token!));
  });
});
