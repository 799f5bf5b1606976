// Spend on success with a hook as the failing dependency: while buildAccessTokenClaims times out, the
// token request fails and spends nothing; once it answers, the same refresh token and the same code
// are redeemed, and nothing was reported as reuse.
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { BatonEvent } from '../../src/observability/events.ts';
import { ORDERS_API, WEB_REDIRECT } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { DOWN } from './fixtures/flaky-hooks.ts';

const HOOKS = fileURLToPath(new URL('./fixtures/flaky-hooks.ts', import.meta.url));
const flags = globalThis as Record<symbol, unknown>;
let baton: RunningBaton;
const events: BatonEvent[] = [];

beforeAll(async () => {
  baton = await startBaton({
    resources: [{ id: ORDERS_API, scopes: ['orders:read'] }],
    clients: [{ client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: ORDERS_API }], hooks: { module: HOOKS, timeout: '1s' } }],
  });
  baton.baton.events.subscribe((event) => events.push(event));
});
afterAll(() => baton?.stop());

const token = (body: Record<string, string>) => postForm(`${baton.url}/token`, new URLSearchParams(body), { authorization: basic('web', TEST_ENV.WEB_SECRET) });
const seed = () => seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, resource: ORDERS_API, resourceScope: 'orders:read' });
const redeem = (seeded: { code: string; codeVerifier: string }) => token({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier });

describe('a hook timing out at the token endpoint', () => {
  it('spends neither the refresh token nor the code: the retries succeed once the hook answers, and nothing is reuse', async () => {
    const issued = await redeem(await seed());
    expect(issued.status).toBe(200);
    const refreshToken = String(issued.json.refresh_token);
    const pending = await seed();

    flags[DOWN] = true;
    try {
      const refused = await token({ grant_type: 'refresh_token', refresh_token: refreshToken });
      expect(refused.status).toBeGreaterThanOrEqual(500);
      const refusedCode = await redeem(pending);
      expect(refusedCode.status).toBeGreaterThanOrEqual(500);
    } finally {
      flags[DOWN] = false;
    }

    const retried = await token({ grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(retried.status).toBe(200);
    const retriedCode = await redeem(pending);
    expect(retriedCode.status).toBe(200);
    expect((await token({ grant_type: 'refresh_token', refresh_token: String(retried.json.refresh_token) })).status).toBe(200);
    expect(events.filter((e) => e.type === 'token.reuse_detected')).toEqual([]);
    expect(events.filter((e) => e.type === 'hook.failed').length).toBeGreaterThanOrEqual(2);
  });
});
