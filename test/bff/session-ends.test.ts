// A BFF session never outlives what it stands on (issue 14; "nothing outlives its grant"): it ends
// when the user signs out at Baton itself (RP-initiated logout revokes the grant), when its refresh
// token dies (the refresh answers invalid_grant), and its id changes at every sign-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { storedTokenId } from '../../src/storage/token-ids.ts';
import { BffSessions } from '../../src/bff/index.ts';
import { deriveKey } from '../../src/keys/seal.ts';
import { TEST_MASTER_SECRET } from '../helpers/baton.ts';
import { CookieAgent } from '../helpers/browser-less.ts';
import { signInWithoutBrowser, startBffWorld, type BffWorld } from './environment.ts';

let world: BffWorld;
beforeAll(async () => {
  world = await startBffWorld();
}, 30_000);
afterAll(() => world?.stop());

const asSpa = (cookie: string) => ({ cookie: `baton-bff-spa=${cookie}`, origin: world.spaOrigin, 'x-csrf': '1' });
const user = (cookie: string) => fetch(`${world.baton.url}/bff/spa/user`, { headers: asSpa(cookie) });
const orders = (cookie: string) => fetch(`${world.baton.url}/bff/spa/api/orders/items`, { headers: asSpa(cookie) });
const sessionsOf = () => new BffSessions(world.baton.baton.store, deriveKey(TEST_MASTER_SECRET, 'bff-sessions'), Date.now);

describe('the end of a BFF session', () => {
  it('signing out at Baton (RP-initiated logout) revokes the grant, and the BFF session with it', async () => {
    const agent = new CookieAgent();
    const cookie = await signInWithoutBrowser(world, agent);
    expect((await orders(cookie)).status).toBe(200);
    const sub = ((await (await user(cookie)).json()) as { sub: string }).sub;
    expect(await sessionsOf().list('spa', sub)).toHaveLength(1);

    const confirm = await agent.request(`${world.baton.url}/logout?client_id=spa-bff`);
    const form = await confirm.text();
    const action = /<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"/.exec(form)?.[1] ?? /action="([^"]+)"/.exec(form)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1];
    expect(action && xsrf).toBeTruthy();
    const done = await agent.request(new URL(action!, world.baton.url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf: xsrf!, logout: 'yes' }).toString() });
    expect(done.status).toBeLessThan(400);

    const before = world.calls.length;
    expect((await orders(cookie)).status).toBe(401);
    expect((await user(cookie)).status).toBe(401);
    expect(world.calls.length).toBe(before);
    expect(await sessionsOf().list('spa', sub)).toEqual([]);
  });

  it('a refresh token that died (refresh answers invalid_grant) ends the session', async () => {
    const cookie = await signInWithoutBrowser(world, new CookieAgent());
    const session = await sessionsOf().load(cookie, 'spa', { idle: 1800, absolute: 43200 });
    // As if it had expired: the provider no longer knows it. The next API whose token needs a refresh finds out.
    await world.baton.baton.store.destroy('RefreshToken', storedTokenId(session!.tokens.refreshToken));
    const response = await fetch(`${world.baton.url}/bff/spa/api/my-reports/mine`, { headers: asSpa(cookie) });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthenticated' });
    expect((await user(cookie)).status).toBe(401);
  });

  it('signing in again rotates the session id: the previous cookie is no session any more', async () => {
    const agent = new CookieAgent();
    const first = await signInWithoutBrowser(world, agent);
    const second = await signInWithoutBrowser(world, agent);
    expect(second).not.toBe(first);
    expect((await user(first)).status).toBe(401);
    expect((await user(second)).status).toBe(200);
  });

  it('the store holds the session under a hash of the cookie, its tokens sealed', async () => {
    const cookie = await signInWithoutBrowser(world, new CookieAgent());
    expect((await orders(cookie)).status).toBe(200);
    const store = world.baton.baton.store;
    expect(await store.getRecord('bff-session', cookie)).toBeUndefined();
    const record = await store.getRecord<Record<string, unknown>>('bff-session', storedTokenId(cookie));
    expect(record).toBeDefined();
    const session = await sessionsOf().load(cookie, 'spa', { idle: 1800, absolute: 43200 });
    const serialized = JSON.stringify(record);
    expect(serialized.includes(session!.tokens.refreshToken)).toBe(false);
    expect(serialized).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });
});

describe('concurrent calls of one session', () => {
  it('make one refresh per API, never presenting a refresh token twice (reuse grace 0)', async () => {
    const cookie = await signInWithoutBrowser(world, new CookieAgent());
    const before = world.calls.length;
    // Two APIs whose tokens are not cached yet: each needs a refresh of the same refresh token.
    const routes = ['orders/items', 'my-reports/mine', 'invoices/open'];
    const answers = await Promise.all(Array.from({ length: 18 }, (_, i) => fetch(`${world.baton.url}/bff/spa/api/${routes[i % 3]}`, { headers: asSpa(cookie) })));
    expect(answers.map((a) => a.status)).toEqual(Array(18).fill(200));
    const calls = world.calls.slice(before);
    const tokensFor = (prefix: string) => new Set(calls.filter((c) => c.path.startsWith(prefix)).map((c) => c.token));
    expect(tokensFor('/orders').size).toBe(1);
    expect(tokensFor('/reports').size).toBe(1);
    expect(tokensFor('/invoices').size).toBe(1);
    expect(calls.filter((c) => c.path.startsWith('/reports')).every((c) => c.claims?.sub === calls[0]!.claims?.sub)).toBe(true);
    expect((await user(cookie)).status).toBe(200);
  });
});

describe('Baton\'s log of all this', () => {
  it('holds no token: no JWT, no refresh token, no session cookie value', async () => {
    const cookie = await signInWithoutBrowser(world, new CookieAgent());
    expect((await orders(cookie)).status).toBe(200);
    const session = await sessionsOf().load(cookie, 'spa', { idle: 1800, absolute: 43200 });
    const log = world.logs.join('');
    expect(world.logs.length).toBeGreaterThan(5);
    expect(log).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
    expect(log.includes(session!.tokens.refreshToken)).toBe(false);
    expect(log.includes(cookie)).toBe(false);
  });
});
