// Tokens at rest, end to end on every backend: a listening Baton (SQLite, PostgreSQL, Redis, split), a
// user signing in at a real upstream (a cookie-keeping agent per origin, no browser), openid-client
// redeeming the code, using the opaque access token at userinfo and rotating the refresh token; then the
// device flow. Everything works, and the store read raw (SQL rows, Redis keys and values) holds none of
// the values: no code, token, device code or cookie value.
import { join } from 'node:path';

import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { POSTGRES_URL, dropSchema, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { postgresContents, redisContents, sqliteContents } from '../conformance/raw-contents.ts';
import { REDIS_URL, dropPrefix, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';
import { freePort, scratchDir, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { CookieAgent } from '../helpers/browser-less.ts';
import { discover } from '../helpers/rp.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';
const APP = 'https://web.example/callback';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

interface Backend {
  readonly storage: Record<string, unknown>;
  /** Everything the backend holds, read around Baton: what a stolen copy shows. */
  readonly contents: () => Promise<string>;
  readonly remove: () => Promise<void>;
}

function sqlite(): Backend {
  const dir = scratchDir();
  const path = join(dir.path, 'baton.db');
  return { storage: { type: 'sqlite', path }, contents: () => sqliteContents(path), remove: async () => dir.remove() };
}

async function postgres(): Promise<Backend> {
  await requirePostgres();
  const schema = uniqueSchema('atrest');
  return { storage: { type: 'postgres', url: POSTGRES_URL, schema }, contents: () => postgresContents(schema), remove: () => dropSchema(schema) };
}

async function redis(): Promise<Backend> {
  await requireRedis();
  const keyPrefix = uniquePrefix();
  return { storage: { type: 'redis', url: REDIS_URL, keyPrefix }, contents: () => redisContents(keyPrefix), remove: () => dropPrefix(keyPrefix) };
}

async function split(): Promise<Backend> {
  const [durable, shortLived] = [await postgres(), await redis()];
  return {
    storage: { type: 'split', durable: durable.storage, shortLived: shortLived.storage },
    contents: async () => `${await durable.contents()}\n${await shortLived.contents()}`,
    remove: async () => {
      await durable.remove();
      await shortLived.remove();
    },
  };
}

const BACKENDS: Array<[string, () => Backend | Promise<Backend>]> = [['sqlite', sqlite], ['postgres', postgres], ['redis', redis], ['split (redis + postgres)', split]];

/** One cookie jar per origin (Baton and the upstream share 127.0.0.1), following redirects between them. */
class UserAgent {
  readonly #agents = new Map<string, CookieAgent>();

  constructor(origins: string[]) {
    for (const origin of origins) this.#agents.set(new URL(origin).origin, new CookieAgent());
  }

  /** Cookie values the agents hold (session and interaction cookies included). */
  cookieValues(): string[] {
    return [...this.#agents.values()].flatMap((agent) => agent.cookieValues());
  }

  /** Follows redirects until a page answers, or a redirect leaves the known origins (to the app). */
  async go(url: string | URL, init?: RequestInit): Promise<{ response: Response; url: URL }> {
    let target = new URL(url);
    let response = await this.#agent(target).request(target, init);
    for (let hops = 0; hops < 20 && response.status >= 300 && response.status < 400; hops += 1) {
      const next = new URL(response.headers.get('location')!, target);
      if (!this.#agents.has(next.origin)) return { response, url: next };
      target = next;
      response = await this.#agent(target).request(target);
    }
    return { response, url: target };
  }

  /** Posts the page's first form (hidden fields kept), with `fields` filled in. */
  async submit(page: { response: Response; url: URL }, fields: Record<string, string> = {}, formIndex = 0): Promise<{ response: Response; url: URL }> {
    const html = await page.response.text();
    const form = [...html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)][formIndex];
    if (!form) throw new Error(`no form on ${page.url.href}: ${html.slice(0, 300)}`);
    const body = new URLSearchParams();
    for (const [input] of form[2]!.matchAll(/<input[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(input)?.[1];
      if (name) body.set(name, unescape(/value="([^"]*)"/.exec(input)?.[1] ?? ''));
    }
    for (const [k, v] of Object.entries(fields)) body.set(k, v);
    return this.go(new URL(unescape(form[1]!), page.url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  }

  #agent(url: URL): CookieAgent {
    return this.#agents.get(url.origin)!;
  }
}

function unescape(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/** Signs in at the upstream from wherever Baton sent the agent, and answers Baton's consent page if it asks. */
async function signIn(agent: UserAgent, start: { response: Response; url: URL }, batonUrl: string): Promise<{ response: Response; url: URL }> {
  expect(start.url.origin).not.toBe(batonUrl);
  let page = await agent.submit(start, { username: 'ann', password: 'ann-pw' });
  if (page.response.status === 200 && page.url.pathname.includes('/interaction/') && page.url.origin === batonUrl) page = await agent.submit(page);
  return page;
}

describe.each(BACKENDS)('tokens at rest on %s', (_name, open) => {
  let baton: RunningBaton;
  let idp: Upstream;
  let backend: Backend;
  let databaseContents: () => Promise<string>;

  beforeAll(async () => {
    backend = await open();
    databaseContents = backend.contents;
    const port = await freePort();
    idp = await startUpstream({
      profile: 'generic',
      clients: [{ client_id: 'baton', client_secret: UPSTREAM_SECRET, redirect_uris: [`http://127.0.0.1:${port}/callback/corp`] }],
      users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true, name: 'Ann' } }],
    });
    baton = await startBaton({
      storage: backend.storage,
      upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: UPSTREAM_SECRET }],
      clients: [
        { client_id: 'web', client_name: 'Web App', client_secret: '${WEB_SECRET}', redirect_uris: [APP], grant_types: ['authorization_code', 'refresh_token'] },
        { client_id: 'tv', client_name: 'TV', token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT, 'refresh_token'] },
      ],
    }, { port });
  });
  afterAll(async () => {
    await Promise.all([baton?.stop(), idp?.stop()]);
    await backend?.remove();
  });

  it('codes, opaque access tokens, refresh tokens and session cookies work while the database holds none of them', async () => {
    const web = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authorize = client.buildAuthorizationUrl(web, {
      redirect_uri: APP, scope: 'openid email offline_access', prompt: 'consent', state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const agent = new UserAgent([baton.url, idp.url]);
    const back = await signIn(agent, await agent.go(authorize), baton.url);
    expect(back.url.href.startsWith(APP), `stuck at ${back.url.href}`).toBe(true);
    const code = back.url.searchParams.get('code')!;
    expect(code).toBeTruthy();

    const tokens = await client.authorizationCodeGrant(web, back.url, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.access_token.split('.')).toHaveLength(1); // opaque: the kind stored in the database
    expect(await client.fetchUserInfo(web, tokens.access_token, tokens.claims()!.sub)).toMatchObject({ email: 'ann@example.org' });
    const refreshed = await client.refreshTokenGrant(web, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeDefined();
    expect(await client.fetchUserInfo(web, refreshed.access_token, tokens.claims()!.sub)).toMatchObject({ email: 'ann@example.org' });
    // Introspection finds the stored opaque token by its value.
    expect(await client.tokenIntrospection(web, refreshed.access_token)).toMatchObject({ active: true });

    const cookies = agent.cookieValues();
    const contents = await databaseContents();
    expect(contents).toContain('RefreshToken'); // the database does hold the tokens, hashed
    for (const secret of [code, tokens.access_token, tokens.refresh_token!, refreshed.access_token, refreshed.refresh_token!, ...cookies]) {
      expect(contents).not.toContain(secret);
    }

    // A second sign-in reuses the Baton session found by its (hashed) cookie.
    const again = await agent.go(client.buildAuthorizationUrl(web, {
      redirect_uri: APP, scope: 'openid email', state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }));
    expect(again.url.href.startsWith(APP), `stuck at ${again.url.href}`).toBe(true);
  });

  it('the device flow works end to end while the database holds no device code, token or cookie value', async () => {
    const tv = await discover(baton.url, 'tv', undefined, 'none');
    const device = await client.initiateDeviceAuthorization(tv, { scope: 'openid email offline_access' });
    const agent = new UserAgent([baton.url, idp.url]);
    const entry = await agent.go(device.verification_uri);
    const confirm = await agent.submit(entry, { user_code: device.user_code });
    const toUpstream = await agent.submit(confirm, { confirm: 'yes' });
    const done = await signIn(agent, toUpstream, baton.url);
    expect(await done.response.text()).toMatch(/connected/i);

    const tokens = await client.pollDeviceAuthorizationGrant(tv, { ...device, interval: 0.1 });
    expect(tokens.claims()).toMatchObject({ email: 'ann@example.org' });
    expect(tokens.refresh_token).toBeDefined();

    const contents = await databaseContents();
    for (const secret of [device.device_code, tokens.access_token, tokens.refresh_token!, ...agent.cookieValues()]) {
      expect(contents).not.toContain(secret);
    }
  });
});
