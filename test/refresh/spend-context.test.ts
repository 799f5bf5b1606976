// Spend on success rides on oidc-provider's own request context, not on an AsyncLocalStorage of
// Baton's: on Node 20 every store ever entered is copied onto every promise the process creates
// afterwards (async_hooks), so a second one would tax every request of every kind once a single code
// or refresh token had been redeemed. And outside a provider request it refuses to run (it could
// not defer the consumption: the artifact would be spent before the response was decided).
import providerContext from 'oidc-provider/lib/helpers/als.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TraceRecorder } from '../../src/explain/recorder.ts';
import { withTrace } from '../../src/explain/trace-context.ts';
import { deferConsumption, spendOnSuccess } from '../../src/grants/spend-on-success.ts';
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
  // Node 24 (AsyncContextFrame) puts no store on promises: nothing to count there.
  it.skipIf(storesOnAPromise() === 0)('adds no async-context store of its own: a code redemption and a refresh leave every later promise as it was', async () => {
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

  it('refuses to run outside this request\'s own context (none, a trace\'s carrier, another context), or twice at once on one request', async () => {
    let ran = 0;
    const handler = async () => {
      ran += 1;
    };
    const ctx = {} as never;
    await expect(spendOnSuccess(ctx, ['RefreshToken'], handler)).rejects.toThrow(/context/);
    await expect(withTrace(new TraceRecorder('t', 0), () => spendOnSuccess(ctx, ['RefreshToken'], handler))).rejects.toThrow(/context/);
    await expect(providerContext.run({}, () => spendOnSuccess(ctx, ['RefreshToken'], handler))).rejects.toThrow(/context/);
    expect(ran).toBe(0);
    // In its own context it runs; a second spending overlapping the first is refused, the first unharmed.
    await providerContext.run(ctx, () => spendOnSuccess(ctx, ['RefreshToken'], async () => {
      ran += 1;
      await expect(spendOnSuccess(ctx, ['AuthorizationCode'], handler)).rejects.toThrow(/already deferring/);
      expect(deferConsumption('RefreshToken', async () => undefined)).toBe(true);
    }));
    expect(ran).toBe(1);
    // Over: nothing is deferred on that context any more.
    expect(await providerContext.run(ctx, async () => deferConsumption('RefreshToken', async () => undefined))).toBe(false);
  });
});
