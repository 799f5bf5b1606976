// The BFF across two Baton instances sharing PostgreSQL and Redis (issue 14): a SPA signs in at
// instance A and calls its API at instance B; logout at B ends the session at A.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createBaton, type Baton } from '../../src/server.ts';
import { freePort } from '../helpers/baton.ts';
import { CookieAgent } from '../helpers/browser-less.ts';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../conformance/postgres-fixture.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';
import { ORDERS, signInWithoutBrowser, startBffWorld, type BffWorld } from './environment.ts';

const schema = uniqueSchema('bff');
const keyPrefix = uniquePrefix();
let world: BffWorld;
let b: Baton;
let bUrl: string;

beforeAll(async () => {
  await Promise.all([requirePostgres(), requireRedis()]);
  world = await startBffWorld({ storage: { type: 'split', durable: { type: 'postgres', url: POSTGRES_URL, schema }, shortLived: { type: 'redis', url: REDIS_URL, keyPrefix } } });
  const port = await freePort();
  b = await createBaton(world.baton.config, { logger: pino({ level: 'silent' }), keyReloadInterval: 0 });
  await b.listen(port, '127.0.0.1');
  bUrl = `http://127.0.0.1:${port}`;
}, 30_000);
afterAll(async () => {
  await b?.close();
  await world?.stop();
  await dropSchema(schema);
  await dropPrefix(keyPrefix);
});

describe('one BFF session, two instances', () => {
  it('signs in at A, calls the API at B, logs out at B, and A no longer knows the session', async () => {
    const cookie = await signInWithoutBrowser(world, new CookieAgent());
    const headers = { cookie: `baton-bff-spa=${cookie}`, origin: world.spaOrigin, 'x-csrf': '1' };
    const atB = await fetch(`${bUrl}/bff/spa/api/orders/items`, { headers });
    expect(atB.status).toBe(200);
    expect(await atB.json()).toMatchObject({ aud: ORDERS, client_id: 'spa-bff' });
    expect((await fetch(`${world.baton.url}/bff/spa/user`, { headers })).status).toBe(200);

    const out = await fetch(`${bUrl}/bff/spa/logout`, { method: 'POST', headers: { ...headers, accept: 'application/json' } });
    expect(out.status).toBe(200);
    expect((await fetch(`${world.baton.url}/bff/spa/user`, { headers })).status).toBe(401);
    expect((await fetch(`${world.baton.url}/bff/spa/api/orders/items`, { headers })).status).toBe(401);
  });
});
