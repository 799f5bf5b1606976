// Spend on success rides on oidc-provider's own request context, not on an AsyncLocalStorage of
// Baton's: on Node 20 every store ever entered is copied onto every promise the process creates
// afterwards (async_hooks), so a second one would tax every request of every kind once a single code
// or refresh token had been redeemed. And outside a provider request it refuses to run (it could
// not defer the consumption: the artifact would be spent before the response was decided).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { spendOnSuccess } from '../../src/grants/spend-on-success.ts';
import { ORDERS_API, WEB_REDIRECT } from '../fixtures/standard.ts';
import { storesOnAPromise } from '../helpers/async-stores.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

let baton: RunningBaton;

beforeAll(async () => {
  baton = await startBaton({
    resources: [{ id: ORDERS_API, scopes: ['orders:read'] }],
    clients: [{ client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: ORDERS_API }] }],
  });
});
afterAll(() => baton?.stop());

const token = (body: Record<string, string>) => postForm(`${baton.url}/token`, new URLSearchParams(body), { authorization: basic('web', TEST_ENV.WEB_SECRET) });

describe('spend on success', () => {
  it('adds no async-context store of its own: a code redemption and a refresh leave every later promise as it was', async () => {
    const before = storesOnAPromise();
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, resource: ORDERS_API, resourceScope: 'orders:read' });
    const issued = await token({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier });
    expect(issued.status).toBe(200);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: String(issued.json.refresh_token) });
    expect(refreshed.status).toBe(200);
    // The code was spent once the response was decided: the deferred consumption committed.
    expect((await token({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier })).json.error).toBe('invalid_grant');
    expect(storesOnAPromise()).toBe(before);
  });

  it('refuses to run outside a provider request, where it could not defer the consumption', async () => {
    let ran = false;
    await expect(spendOnSuccess({} as never, ['RefreshToken'], async () => {
      ran = true;
    })).rejects.toThrow(/request context/);
    expect(ran).toBe(false);
  });
});
