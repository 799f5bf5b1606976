// The authorization endpoint: PKCE policy (S256 only, required unless a confidential client opts
// out), the interaction page while no upstream is configured, and the way back with access_denied.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SPA_REDIRECT, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { CookieAgent } from '../helpers/browser-less.ts';

let baton: RunningBaton;
beforeAll(async () => {
  baton = await startBaton({
    ...standardConfig,
    clients: [
      ...standardConfig.clients,
      { client_id: 'legacy', client_secret: '${WEB_SECRET}', redirect_uris: ['https://legacy.example/cb'], requirePkce: false },
    ],
  });
});
afterAll(() => baton.stop());

function authorizeUrl(params: Record<string, string>): URL {
  const url = new URL(`${baton.url}/authorize`);
  for (const [k, v] of Object.entries({ response_type: 'code', scope: 'openid', state: 'st-123', ...params })) url.searchParams.set(k, v);
  return url;
}

function errorRedirect(response: Response): URLSearchParams {
  expect(response.status).toBe(303);
  return new URL(response.headers.get('location')!).searchParams;
}

describe('PKCE policy', () => {
  it('requires a code_challenge by default, answering at the redirect_uri', async () => {
    const response = await new CookieAgent().request(authorizeUrl({ client_id: 'web', redirect_uri: WEB_REDIRECT }));
    const params = errorRedirect(response);
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toMatch(/PKCE/);
    expect(params.get('state')).toBe('st-123');
    expect(params.get('iss')).toBe(baton.url);
  });

  it('refuses the plain method', async () => {
    const response = await new CookieAgent().request(authorizeUrl({ client_id: 'spa', redirect_uri: SPA_REDIRECT, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }));
    expect(errorRedirect(response).get('error')).toBe('invalid_request');
  });

  it('lets a confidential client that opted out proceed without PKCE', async () => {
    const response = await new CookieAgent().request(authorizeUrl({ client_id: 'legacy', redirect_uri: 'https://legacy.example/cb' }));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/interaction\//);
  });

  it('never redirects to an unregistered redirect_uri', async () => {
    const response = await new CookieAgent().request(authorizeUrl({ client_id: 'web', redirect_uri: 'https://evil.example/cb', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' }), { headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const page = await response.text();
    expect(page).toContain('redirect_uri');
    expect(page).not.toMatch(/node_modules|at .+:\d+:\d+/);
  });
});

describe('interaction while no upstream is configured', () => {
  it('shows a sign-in page that says so and returns access_denied to the client', async () => {
    const agent = new CookieAgent();
    const challenge = await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier());
    const start = await agent.request(authorizeUrl({ client_id: 'web', redirect_uri: WEB_REDIRECT, code_challenge: challenge, code_challenge_method: 'S256' }));
    expect(start.status).toBe(303);
    const interaction = new URL(start.headers.get('location')!, baton.url);
    expect(interaction.pathname).toMatch(/^\/interaction\/[\w-]+$/);

    const page = await agent.request(interaction);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Sign in to Web App');
    expect(html).toContain('No upstream identity provider is configured');

    const abort = await agent.request(`${interaction.href}/abort`, { method: 'POST' });
    expect(abort.status).toBe(303);
    const back = await agent.follow(new URL(abort.headers.get('location')!, baton.url), baton.url);
    const params = errorRedirect(back);
    expect(new URL(back.headers.get('location')!).origin + new URL(back.headers.get('location')!).pathname).toBe(WEB_REDIRECT);
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe('st-123');
  });

  it('an interaction page without its cookie is a clean error, not a crash', async () => {
    const response = await fetch(`${baton.url}/interaction/unknown-uid`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_request');
  });
});

describe('RP-initiated logout', () => {
  it('without a session, confirms by itself and returns to the registered post_logout_redirect_uri with state', async () => {
    const agent = new CookieAgent();
    const url = new URL(`${baton.url}/logout`);
    url.searchParams.set('client_id', 'web');
    url.searchParams.set('post_logout_redirect_uri', 'https://web.example/');
    url.searchParams.set('state', 'bye-1');
    const response = await agent.request(url);
    expect(response.status).toBe(200);
    const form = await response.text();
    const action = /action="([^"]+)"/.exec(form)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1];
    expect(action).toBe(`${baton.url}/logout/confirm`);
    expect(xsrf).toBeTruthy();

    const confirmed = await agent.request(action!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `xsrf=${xsrf}` });
    expect(confirmed.status).toBe(303);
    const back = new URL(confirmed.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe('https://web.example/');
    expect(back.searchParams.get('state')).toBe('bye-1');
  });

  it('refuses a confirmation without the xsrf value', async () => {
    const response = await fetch(`${baton.url}/logout/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: 'logout=yes' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('refuses an unregistered post_logout_redirect_uri', async () => {
    const url = new URL(`${baton.url}/logout`);
    url.searchParams.set('client_id', 'web');
    url.searchParams.set('post_logout_redirect_uri', 'https://evil.example/');
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
  });
});
void TEST_ENV;
