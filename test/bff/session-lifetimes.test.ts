// BFF session lifetimes (issue 14): a session unused for `session.idle` ends, and one in use ends
// `session.absolute` after sign-in, on every backend's expiry and on Baton's own check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CookieAgent } from '../helpers/browser-less.ts';
import { signInWithoutBrowser, startBffWorld, type BffWorld } from './environment.ts';

let world: BffWorld;
let offset = 0;
beforeAll(async () => {
  world = await startBffWorld({ clock: () => Date.now() + offset });
}, 30_000);
afterAll(() => world?.stop());

const user = (cookie: string) => fetch(`${world.baton.url}/bff/spa/user`, { headers: { cookie: `baton-bff-spa=${cookie}`, origin: world.spaOrigin, 'x-csrf': '1' } });
const MINUTE = 60_000;

describe('BFF session lifetimes (idle 30 min, absolute 12 h by default)', () => {
  it('a session used within its idle time lives on; one left idle for longer ends', async () => {
    const cookie = await signInWithoutBrowser(world, new CookieAgent());
    const { session } = (await (await user(cookie)).json()) as { session: { createdAt: number; expiresAt: number } };
    expect(session.expiresAt - session.createdAt).toBe(30 * 60);
    offset += 25 * MINUTE;
    expect((await user(cookie)).status).toBe(200);
    offset += 25 * MINUTE; // 50 minutes after sign-in, 25 after the last use
    expect((await user(cookie)).status).toBe(200);
    offset += 31 * MINUTE;
    expect((await user(cookie)).status).toBe(401);
  });

  it('a session in constant use still ends at its absolute lifetime', async () => {
    const cookie = await signInWithoutBrowser(world, new CookieAgent());
    for (let elapsed = 20; elapsed <= 11 * 60 + 40; elapsed += 20) {
      offset += 20 * MINUTE;
      expect((await user(cookie)).status).toBe(200);
    }
    offset += 19 * MINUTE; // 11 h 59 min after sign-in
    expect((await user(cookie)).status).toBe(200);
    offset += 2 * MINUTE; // 12 h 1 min after sign-in, 2 min after the last use
    expect((await user(cookie)).status).toBe(401);
  });
});
