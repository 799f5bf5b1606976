// Checks decide on the route the routers resolve, not on a path's spelling (oidc-provider folds case and
// ignores a trailing slash): the user-code guessing limit (RFC 8628 section 5.1) holds for every
// spelling of code_verification, and Baton's own paths are Baton's whatever their case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBaton, type RunningBaton } from '../helpers/baton.ts';

let baton: RunningBaton;
let cookie: string;
let xsrf: string;

beforeAll(async () => {
  baton = await startBaton({
    clients: [{ client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] }],
  });
  // The form's session, as a browser that loaded the page first holds it.
  const form = await fetch(`${baton.url}/device`);
  cookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  expect(cookie).toContain('baton_session=');
  xsrf = /name="xsrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  expect(xsrf).not.toBe('');
});
afterAll(() => baton?.stop());

/** One submission of a wrong code, as the browser holding the form sends it (each answer renews the xsrf). */
async function submit(path: string): Promise<number> {
  const res = await fetch(`${baton.url}${path}`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ user_code: 'ZZZZZZZZ', xsrf }),
  });
  xsrf = /name="xsrf" value="([^"]+)"/.exec(await res.text())?.[1] ?? xsrf;
  return res.status;
}

describe('user-code entry limit', () => {
  it('counts /Device/, /DEVICE and /device/ as the one form: the 21st submission in any spelling is 429', async () => {
    const spellings = ['/Device/', '/DEVICE', '/device/', '/dEvIcE'];
    const statuses: number[] = [];
    for (let i = 0; i < 24; i += 1) statuses.push(await submit(spellings[i % spellings.length]!));
    // The provider really answers those spellings (its form again, with "invalid code") until the limit.
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(200));
    expect(statuses.slice(20)).toEqual([429, 429, 429, 429]);
  });

  it('leaves paths that are not the provider\'s verification form alone', async () => {
    expect(await submit('/device/auth')).not.toBe(429);
    expect(await submit('/devices')).toBe(404);
  });
});

describe('Baton\'s own paths', () => {
  it('are answered by Baton in any case the router accepts, never handed to the provider', async () => {
    for (const path of ['/healthz', '/HealthZ', '/HEALTHZ']) expect((await fetch(`${baton.url}${path}`)).status).toBe(200);
    // Baton's interaction route (no interaction cookie: invalid_request), not the provider's 404.
    const interaction = await fetch(`${baton.url}/Interaction/not-a-sign-in`);
    expect(interaction.status).toBe(400);
    expect(((await interaction.json()) as { error?: string }).error).toBe('invalid_request');
  });
});
