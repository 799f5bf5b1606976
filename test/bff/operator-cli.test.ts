// `baton bff sessions` / `baton bff end` (issue 14): an operator lists a user's BFF sessions in the
// shared store and ends them; the SPA's next call gets 401 and the grant's refresh token is dead.
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { endBffSessions, listBffSessions } from '../../src/bff/sessions-command.ts';
import { scratchDir } from '../helpers/baton.ts';
import { CookieAgent } from '../helpers/browser-less.ts';
import { signInWithoutBrowser, startBffWorld, type BffWorld } from './environment.ts';

let world: BffWorld;
const dir = scratchDir('baton-bff-cli-');
beforeAll(async () => {
  world = await startBffWorld({ storage: { type: 'sqlite', path: join(dir.path, 'baton.db') } });
}, 30_000);
afterAll(async () => {
  await world?.stop();
  dir.remove();
});

const asSpa = (cookie: string) => ({ cookie: `baton-bff-spa=${cookie}`, origin: world.spaOrigin, 'x-csrf': '1' });

describe('the operator\'s BFF session commands', () => {
  it('lists a user\'s sessions without revealing their ids, and ends them with their grants', async () => {
    const first = await signInWithoutBrowser(world, new CookieAgent());
    const second = await signInWithoutBrowser(world, new CookieAgent());
    const { sub } = (await (await fetch(`${world.baton.url}/bff/spa/user`, { headers: asSpa(first) })).json()) as { sub: string };
    const listed = await listBffSessions(world.baton.config, sub);
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatchObject({ bff: 'spa', sub });
    expect(JSON.stringify(listed)).not.toContain(first);
    expect(await listBffSessions(world.baton.config, 'corp:nobody')).toEqual([]);

    const ended = await endBffSessions(world.baton.config, sub, 'spa');
    expect(ended).toHaveLength(2);
    for (const cookie of [first, second]) {
      expect((await fetch(`${world.baton.url}/bff/spa/api/orders/items`, { headers: asSpa(cookie) })).status).toBe(401);
    }
    expect(await listBffSessions(world.baton.config, sub)).toEqual([]);
    await expect(listBffSessions(world.baton.config, sub, 'nope')).rejects.toThrow(/no bff entry nope/);
  });
});
