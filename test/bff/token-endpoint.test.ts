// The opt-in `token` endpoint (issue 14, RFC 10017 section 6.2, the seed document's token-mediating
// design): a short-lived access token for one of the app's API resources, behind the same CSRF
// defence; never a refresh token, never for a resource that is not one of the app's user routes.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CookieAgent } from '../helpers/browser-less.ts';
import { ORDERS, REPORTS, signInWithoutBrowser, startBffWorld, type BffWorld } from './environment.ts';

let world: BffWorld;
let cookie: string;
beforeAll(async () => {
  world = await startBffWorld();
  cookie = await signInWithoutBrowser(world, new CookieAgent(), 'tokens');
}, 30_000);
afterAll(() => world?.stop());

const token = (resource: string, headers: Record<string, string> = {}) => fetch(`${world.baton.url}/bff/tokens/token?resource=${encodeURIComponent(resource)}`, {
  headers: { cookie: `baton-bff-tokens=${cookie}`, origin: world.spaOrigin, 'x-csrf': '1', ...headers },
});

describe('the token endpoint, when enabled', () => {
  it('hands out an access token for one of the app\'s APIs and nothing else', async () => {
    const response = await token(ORDERS);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('access-control-allow-origin')).toBe(world.spaOrigin);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
    expect(body.expires_in).toBeGreaterThan(0);
    const { payload } = await jwtVerify(body.access_token as string, createRemoteJWKSet(new URL(`${world.baton.url}/jwks`)), { issuer: world.baton.url, audience: ORDERS });
    expect(payload).toMatchObject({ client_id: 'spa-tokens', scope: 'orders:read' });
  });

  it('refuses other resources, calls without the CSRF header or from another origin, and callers without a session', async () => {
    for (const resource of [REPORTS, 'https://elsewhere.example']) {
      const refused = await token(resource);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'invalid_target' });
    }
    expect((await token(ORDERS, { 'x-csrf': '' })).status).toBe(403);
    expect((await token(ORDERS, { origin: world.evilOrigin })).status).toBe(403);
    expect((await token(ORDERS, { cookie: '' })).status).toBe(401);
  });
});
