// examples/hooks/web.test.ts: unit tests of web.ts with the hook test kit, no Baton running. Each
// hook runs through Baton's own runner (frozen context, deadline, result checks); the HR service is
// played by a `fetch` function. With the installed package, import from 'baton/hooks/testing'.
import { describe, expect, it } from 'vitest';

import { HookError, runHookForTest } from '../../src/orchestration/hooks/testing.ts';
import * as web from './web.ts';

const HR_TOKEN = 'hr-token-for-tests';

describe('web.ts', () => {
  it('makes the admin console sign in again, not the web app', async () => {
    expect((await runHookForTest(web, 'isAuthenticated', { client: { id: 'admin-console' } })).output).toBe(false);
    expect((await runHookForTest(web, 'isAuthenticated', { client: { id: 'web' } })).output).toBe(true);
  });

  it('routes partners to Okta and refuses a former subsidiary', async () => {
    const partner = await runHookForTest(web, 'authenticate', { params: { login_hint: 'bob@partner.example' } });
    expect(partner.output).toEqual({ upstream: 'okta' });
    const former = await runHookForTest(web, 'authenticate', { params: { login_hint: 'eve@former-subsidiary.example' } });
    expect(former.output).toEqual({ deny: 'This organisation no longer has access' });
  });

  it('loads attributes from the HR service with its secret, and caches them for 5 minutes', async () => {
    const run = await runHookForTest(web, 'loadAttrs', { user: { sub: 'entra:ann', upstreamSubject: 'ann' } }, {
      secrets: { hrToken: HR_TOKEN },
      fetch: (request) =>
        request.headers.get('authorization') === `Bearer ${HR_TOKEN}`
          ? Response.json({ department: 'finance', roles: ['approver'] })
          : new Response(null, { status: 401 }),
    });
    expect(run.output).toEqual({ department: 'finance', roles: ['approver'] });
    expect(run.fetched.map((r) => r.url)).toEqual(['https://hr.internal/people/ann']);
    expect(run.cached).toEqual({ 'hr:entra:ann': { value: { department: 'finance', roles: ['approver'] }, ttlSeconds: 300 } });
  });

  it('answers from the cache without calling the HR service', async () => {
    const cache = { 'hr:entra:ann': { department: 'sales', roles: ['viewer'] } };
    const run = await runHookForTest(web, 'loadAttrs', { user: { sub: 'entra:ann' } }, { cache });
    expect(run.output).toEqual({ department: 'sales', roles: ['viewer'] });
    expect(run.fetched).toEqual([]);
  });

  it('fails the sign-in, as Baton would, when the HR service is down', async () => {
    const run = runHookForTest(web, 'loadAttrs', {}, { secrets: { hrToken: HR_TOKEN }, fetch: () => new Response(null, { status: 503 }) });
    await expect(run).rejects.toBeInstanceOf(HookError);
    await expect(run).rejects.toMatchObject({ kind: 'threw', hook: 'loadAttrs', message: 'The loadAttrs extension failed.' });
  });

  it('refuses people without a role, with a reason for them', async () => {
    const run = await runHookForTest(web, 'isAuthorized', { user: { attrs: { roles: [] } } });
    expect(run.output).toEqual({ allow: false, reason: 'Your account has no role in this application' });
  });

  it('puts roles in access tokens for the Orders API only', async () => {
    const user = { attrs: { roles: ['approver'] } };
    const orders = await runHookForTest(web, 'buildAccessTokenClaims', { resource: 'https://orders.api.example', user });
    expect(orders.output).toEqual({ roles: ['approver'], via: 'authorization_code' });
    const other = await runHookForTest(web, 'buildAccessTokenClaims', { resource: 'https://other.api.example', user });
    expect(other.output).toEqual({});
  });
});
