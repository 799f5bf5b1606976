// Refusals on the lean token path against the full pipeline of the same Baton (lean-bed.ts): every
// error the code and refresh handlers throw is answered alike by the lean path itself; codes and
// refresh tokens stay single use whichever path they reach, concurrently too; what the lean path
// cannot answer alike (a browser app's CORS request, an Accept for which oidc-provider renders HTML,
// repeated parameters, a wrong secret) goes the full way; storage down is 503 on both.
import { describe, expect, it } from 'vitest';

import { BILLING_API, ORDERS_API, SPA_REDIRECT, WEB_REDIRECT } from '../fixtures/standard.ts';
import { TEST_ENV } from '../helpers/baton.ts';
import { basic } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { sendForm as send, type Answer } from '../helpers/two-paths.ts';
import { baton, both, codeForm, events, form, fullPort, koaContexts, leanPort, OTHER_REDIRECT, refreshToken, sameButId, state, useLeanBed, web, wrongVerifier } from './lean-bed.ts';

useLeanBed();

describe('errors the handlers throw are answered alike, by the lean path itself', () => {
  const cases: Array<[string, () => Promise<string>, number, string]> = [
    ['a wrong PKCE verifier', wrongVerifier, 400, 'invalid_grant'],
    ['no PKCE verifier', async () => form({ grant_type: 'authorization_code', code: (await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT })).code, redirect_uri: WEB_REDIRECT }), 400, 'invalid_grant'],
    ['an unknown code', async () => form({ grant_type: 'authorization_code', code: 'not-a-code', code_verifier: 'x'.repeat(43), redirect_uri: WEB_REDIRECT }), 400, 'invalid_grant'],
    ['another redirect_uri', () => codeForm({}, { redirect_uri: 'https://web.example/other' }), 400, 'invalid_grant'],
    ['another client\'s code', () => codeForm({ clientId: 'other', redirectUri: OTHER_REDIRECT }, { redirect_uri: OTHER_REDIRECT }), 400, 'invalid_grant'],
    ['no code', async () => form({ grant_type: 'authorization_code', redirect_uri: WEB_REDIRECT }), 400, 'invalid_request'],
    ['a resource the code was not issued for', () => codeForm({ resource: ORDERS_API, resourceScope: 'orders:read' }, { resource: BILLING_API }), 400, 'invalid_target'],
    ['an unknown refresh token', async () => form({ grant_type: 'refresh_token', refresh_token: 'not-a-token' }), 400, 'invalid_grant'],
    ['a refresh with a scope beyond the token\'s', async () => form({ grant_type: 'refresh_token', refresh_token: await refreshToken(), scope: 'openid billing:read' }), 400, 'invalid_scope'],
  ];
  for (const [name, make, status, error] of cases) {
    it(`${name}: ${status} ${error}`, async () => {
      const { lean, koa, leanContexts } = await both(make);
      expect(sameButId(lean)).toEqual(sameButId(koa));
      expect(lean.status).toBe(status);
      expect(JSON.parse(lean.body)).toMatchObject({ error });
      expect(leanContexts).toBe(0);
    });
  }

  it('another client\'s refresh token: invalid_grant on both, and it stays usable by its own client', async () => {
    const token = await refreshToken();
    const other = { authorization: basic('other', TEST_ENV.WEB_SECRET) };
    const lean = await send(leanPort, form({ grant_type: 'refresh_token', refresh_token: token }), other);
    const koa = await send(fullPort, form({ grant_type: 'refresh_token', refresh_token: token }), other);
    expect(lean.body).toBe(koa.body);
    expect(JSON.parse(lean.body)).toMatchObject({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    expect((await send(leanPort, form({ grant_type: 'refresh_token', refresh_token: token }), web())).status).toBe(200);
  });
});

describe('one-time artifacts stay single use whichever path they reach', () => {
  it('a code redeemed twice: refused alike, the grant revoked (its refresh token refused), reuse reported', async () => {
    const results: Array<{ again: Answer; refresh: Answer }> = [];
    for (const port of [leanPort, fullPort]) {
      const body = await codeForm({ resource: ORDERS_API, resourceScope: 'orders:read' });
      const first = await send(leanPort, body, web());
      expect(first.status).toBe(200);
      const before = events.length;
      const again = await send(port, body, { ...web(), 'x-request-id': 'code-again' });
      expect(events.slice(before).some((e) => e.type === 'token.reuse_detected')).toBe(true);
      const refresh = await send(port, form({ grant_type: 'refresh_token', refresh_token: String(JSON.parse(first.body).refresh_token) }), { ...web(), 'x-request-id': 'refresh-after-reuse' });
      results.push({ again, refresh });
    }
    expect(results[0]).toEqual(results[1]);
    expect(JSON.parse(results[0]!.again.body)).toMatchObject({ error: 'invalid_grant' });
    expect(JSON.parse(results[0]!.refresh.body)).toMatchObject({ error: 'invalid_grant' });
  });

  it('a rotated refresh token presented again (no grace): refused alike and its successor revoked', async () => {
    const results: Array<{ again: Answer; successor: Answer }> = [];
    for (const port of [leanPort, fullPort]) {
      const token = await refreshToken();
      const first = await send(leanPort, form({ grant_type: 'refresh_token', refresh_token: token }), web());
      expect(first.status).toBe(200);
      const again = await send(port, form({ grant_type: 'refresh_token', refresh_token: token }), { ...web(), 'x-request-id': 'rt-again' });
      const successor = await send(port, form({ grant_type: 'refresh_token', refresh_token: String(JSON.parse(first.body).refresh_token) }), { ...web(), 'x-request-id': 'rt-successor' });
      results.push({ again, successor });
    }
    expect(results[0]).toEqual(results[1]);
    expect(JSON.parse(results[0]!.again.body)).toMatchObject({ error: 'invalid_grant' });
    expect(JSON.parse(results[0]!.successor.body)).toMatchObject({ error: 'invalid_grant' });
  });

  it('concurrent redemptions of one code on both paths: exactly one is issued', async () => {
    const body = await codeForm();
    const answers = await Promise.all([leanPort, leanPort, fullPort, leanPort, fullPort].map((port) => send(port, body, web())));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 400 && JSON.parse(a.body).error === 'invalid_grant')).toHaveLength(4);
  });

  it('concurrent refreshes of one token on both paths: exactly one is issued', async () => {
    const body = form({ grant_type: 'refresh_token', refresh_token: await refreshToken() });
    const answers = await Promise.all([leanPort, fullPort, leanPort, leanPort].map((port) => send(port, body, web())));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
  });
});

describe('what the lean path leaves to the full pipeline', () => {
  it('a browser app\'s request (Origin: CORS): redeemed by the full pipeline', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'spa', redirectUri: SPA_REDIRECT });
    const before = koaContexts;
    const answer = await send(leanPort, form({ grant_type: 'authorization_code', client_id: 'spa', code: seeded.code, code_verifier: seeded.codeVerifier, redirect_uri: SPA_REDIRECT }), { origin: 'http://localhost:5173' });
    expect(answer.status).toBe(200);
    expect(koaContexts).toBeGreaterThan(before);
    expect(answer.headers).toContainEqual(['Access-Control-Allow-Origin', 'http://localhost:5173']);
  });

  // oidc-provider renders its HTML error page where `ctx.accepts('json', 'html')` picks html: any
  // spelling, a wildcard preferred over JSON by q-value. Those requests go the full way; the rest
  // may stay on the lean path, answered with the JSON the full pipeline sends them too.
  const accepts: Array<[string, 'text/html' | 'application/json']> = [
    ['text/html', 'text/html'], ['Text/HTML', 'text/html'], ['text/*', 'text/html'],
    ['application/json;q=0.5, */*', 'text/html'], ['*/*;q=0.9, application/json;q=0.1', 'text/html'], ['application/json;q=0, */*', 'text/html'],
    ['application/xhtml+xml', 'application/json'], ['*/*', 'application/json'], ['application/*', 'application/json'], ['image/png', 'application/json'],
  ];
  for (const [accept, type] of accepts) {
    it(`an error for Accept: ${accept} is answered as the full pipeline does (${type})`, async () => {
      const { lean, koa, leanContexts, ids } = await both(wrongVerifier, { ...web(), accept });
      expect(leanContexts > 0).toBe(type === 'text/html');
      expect(lean.status).toBe(400);
      expect(lean.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1]).toMatch(new RegExp(`^${type}`));
      expect(lean.body.replace(ids[0], 'id')).toBe(koa.body.replace(ids[1], 'id'));
    });
  }

  it('a repeated parameter: the full pipeline refuses it, alike', async () => {
    const { lean, koa, leanContexts } = await both(async () => `${await codeForm()}&code=again`);
    expect(leanContexts).toBeGreaterThan(0);
    expect(lean.body).toBe(koa.body);
    expect(JSON.parse(lean.body)).toMatchObject({ error: 'invalid_request' });
  });

  it('a wrong client secret: the full pipeline answers 401 invalid_client, alike', async () => {
    const { lean, koa } = await both(() => codeForm(), { authorization: basic('web', 'wrong-secret-0123456789') });
    expect(lean.status).toBe(401);
    expect(lean.body).toBe(koa.body);
    expect(JSON.parse(lean.body)).toMatchObject({ error: 'invalid_client' });
  });

  it('storage down: 503 temporarily_unavailable with Retry-After on both paths, and the code still redeemable after', async () => {
    const bodies = [await codeForm(), await codeForm()];
    state.down = true;
    let answers: { lean: Answer; koa: Answer };
    try {
      answers = { lean: await send(leanPort, bodies[0]!, web()), koa: await send(fullPort, bodies[1]!, web()) };
    } finally {
      state.down = false;
    }
    expect(answers.lean.status).toBe(503);
    expect(answers.lean.headers).toContainEqual(['Retry-After', '5']);
    expect(JSON.parse(answers.lean.body).error).toBe('temporarily_unavailable');
    expect(sameButId(answers.lean).headers).toEqual(sameButId(answers.koa).headers);
    expect((await send(leanPort, bodies[0]!, web())).status).toBe(200);
  });
});
