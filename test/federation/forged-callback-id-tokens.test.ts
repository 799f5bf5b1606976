// The upstream id_token at the sign-in callback is an id_token for Baton, or nothing is signed in:
// a JWT typed as another kind (RFC 8725 section 3.11, `at+jwt`), an `azp` naming another client, or
// an `iat` in the future ends on an error page, never on a redirect. The upstream is a small real
// server answering with the id_token the test signs; the browser side is raw HTTP with its cookies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBaton, type RunningBaton } from '../helpers/baton.ts';
import { startFakeUpstream, type FakeUpstream } from '../passthrough/fake-upstream.ts';

const REDIRECT = 'https://app.example/cb';
let upstream: FakeUpstream;
let baton: RunningBaton;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  baton = await startBaton({
    upstreams: [{ id: 'idp', issuer: upstream.issuer, clientId: 'baton', clientSecret: 'baton-secret-at-the-idp-0123' }],
    clients: [{ client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [REDIRECT] }],
  });
});
afterAll(async () => {
  await baton?.stop();
  await upstream?.stop();
});

/** A browser's cookie jar, enough for one sign-in. */
class Jar {
  readonly #cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      this.#cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
  }
  get header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** Starts a sign-in at Baton up to the upstream redirect; returns what the upstream would see. */
async function startSignIn(jar: Jar) {
  const authorize = new URL(`${baton.url}/authorize`);
  for (const [k, v] of Object.entries({ client_id: 'web', response_type: 'code', scope: 'openid email', redirect_uri: REDIRECT, state: 'app-state', code_challenge: 'c'.repeat(43), code_challenge_method: 'S256' })) authorize.searchParams.set(k, v);
  let res = await fetch(authorize, { redirect: 'manual' });
  jar.take(res);
  res = await fetch(new URL(res.headers.get('location')!, baton.url), { redirect: 'manual', headers: { cookie: jar.header } });
  jar.take(res);
  const atUpstream = new URL(res.headers.get('location')!);
  expect(atUpstream.origin).toBe(upstream.issuer);
  return { state: atUpstream.searchParams.get('state')!, nonce: atUpstream.searchParams.get('nonce')! };
}

/** The upstream's redirect back to Baton, followed to the interaction; the final response. */
async function callback(jar: Jar, state: string): Promise<Response> {
  let res = await fetch(`${baton.url}/callback/idp?code=upstream-code&state=${encodeURIComponent(state)}`, { redirect: 'manual', headers: { cookie: jar.header } });
  expect(res.status).toBe(303);
  res = await fetch(new URL(res.headers.get('location')!, baton.url), { redirect: 'manual', headers: { cookie: jar.header } });
  return res;
}

async function signInWith(idToken: (nonce: string) => Promise<string>): Promise<Response> {
  const jar = new Jar();
  const { state, nonce } = await startSignIn(jar);
  upstream.tokenResponse = { status: 200, body: { access_token: 'upstream-at', token_type: 'Bearer', expires_in: 3600, id_token: await idToken(nonce) } };
  return callback(jar, state);
}

const now = () => Math.floor(Date.now() / 1000);

describe('the upstream id_token at the callback', () => {
  it('control: a valid id_token signs in (on to the authorization endpoint)', async () => {
    const res = await signInWith((nonce) => upstream.sign(upstream.claims('baton', { nonce })));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/\/authorize\//);
  });

  it.each([
    ['typ at+jwt', (nonce: string) => upstream.sign(upstream.claims('baton', { nonce }), { header: { typ: 'at+jwt' } })],
    ['typ application/at+jwt', (nonce: string) => upstream.sign(upstream.claims('baton', { nonce }), { header: { typ: 'application/at+jwt' } })],
    ['an azp naming another client', (nonce: string) => upstream.sign(upstream.claims('baton', { nonce, azp: 'someone-else' }))],
    ['an iat in the future', (nonce: string) => upstream.sign(upstream.claims('baton', { nonce, iat: now() + 600, exp: now() + 3600 }))],
  ])('refuses an id_token with %s: an error page, no redirect', async (_name, forge) => {
    const res = await signInWith(forge);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('could not be verified');
  });

  it('tolerates a few seconds of clock skew in iat', async () => {
    const res = await signInWith((nonce) => upstream.sign(upstream.claims('baton', { nonce, iat: now() + 10 })));
    expect(res.status).toBe(303);
  });
});
