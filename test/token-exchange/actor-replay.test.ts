// RFC 8693 section 2.1 actor tokens from a trusted issuer are single-use, as subject ones are: by
// `iss` + `jti`, or by their signed content without `jti`, for the token's lifetime, across two Baton
// instances sharing a Redis store. A Baton access token as actor stays a reusable bearer token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBaton, type RunningBaton } from '../helpers/baton.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../conformance/redis-fixture.ts';
import { clientCredentials, exchange, ORDERS, PARTNER, refusal, startIssuer, TE, TYPE, verifyAccessToken, type Issuer } from './environment.ts';

const keyPrefix = uniquePrefix();
let partner: Issuer;
let a: RunningBaton;
let b: RunningBaton;

beforeAll(async () => {
  await requireRedis();
  partner = await startIssuer(PARTNER);
  const config = {
    storage: { type: 'redis', url: REDIS_URL, keyPrefix },
    resources: [{ id: ORDERS, scopes: ['orders:read'] }],
    tokenExchange: { trustedIssuers: [{ issuer: PARTNER, jwksUri: partner.jwksUri, audiences: ['baton'] }] },
    clients: [{
      client_id: 'gateway', client_secret: '${SERVICE_SECRET}', grant_types: [TE, 'client_credentials'], resources: [{ id: ORDERS }],
      tokenExchange: { subjectTokenTypes: ['jwt'], issuers: [PARTNER], actors: true },
    }],
  };
  [a, b] = await Promise.all([startBaton(config), startBaton(config)]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), partner?.stop()]);
  await dropPrefix(keyPrefix);
});

const subject = (sub = 'partner-user') => partner.sign({ sub });
const actFor = (baton: RunningBaton, subjectToken: string, actorToken: string, actorType: string = TYPE.jwt) =>
  exchange(baton, 'gateway', { subject_token: subjectToken, subject_token_type: TYPE.jwt, actor_token: actorToken, actor_token_type: actorType, resource: ORDERS });

describe('token exchange: a trusted issuer\'s actor token is single-use', () => {
  it('the same actor token twice: the second is invalid_request; another actor token works', async () => {
    const actor = await partner.sign({ sub: 'robot' });
    const first = await actFor(a, await subject(), actor);
    expect((await verifyAccessToken(a, first.access_token, ORDERS)).payload.act).toEqual({ sub: 'robot', iss: PARTNER });
    expect(await refusal(actFor(a, await subject(), actor))).toEqual({ error: 'invalid_request', error_description: 'actor_token was already exchanged', status: 400 });
    expect((await actFor(a, await subject(), await partner.sign({ sub: 'robot' }))).access_token).toBeTruthy();
  });

  it('an actor token spent at one instance is refused at the other (shared store)', async () => {
    const actor = await partner.sign({ sub: 'robot' });
    await actFor(a, await subject(), actor);
    expect(await refusal(actFor(b, await subject(), actor))).toMatchObject({ error: 'invalid_request', error_description: 'actor_token was already exchanged' });
  });

  it('by jti: the same jti in another actor token is refused', async () => {
    await actFor(a, await subject(), await partner.sign({ sub: 'robot', jti: 'actor-jti-1' }));
    expect(await refusal(actFor(b, await subject(), await partner.sign({ sub: 'other-robot', jti: 'actor-jti-1' })))).toMatchObject({ error: 'invalid_request' });
  });

  it('without jti: by its signed content, as a subject token without jti', async () => {
    const actor = await partner.sign({ sub: 'robot', jti: undefined });
    await actFor(a, await subject(), actor);
    expect(await refusal(actFor(b, await subject(), actor))).toMatchObject({ error: 'invalid_request', error_description: 'actor_token was already exchanged' });
  });

  it('a replayed actor token does not spend the subject token presented with it', async () => {
    const actor = await partner.sign({ sub: 'robot' });
    await actFor(a, await subject(), actor);
    const fresh = await subject('partner-user-2');
    expect(await refusal(actFor(a, fresh, actor))).toMatchObject({ error: 'invalid_request' });
    const result = await actFor(b, fresh, await partner.sign({ sub: 'robot' }));
    expect((await verifyAccessToken(b, result.access_token, ORDERS)).payload.sub).toBe('~issuer/https%3A//partner.example:partner-user-2');
  });

  it('one token, one use, whatever its role: spent as subject, refused as actor, and the reverse', async () => {
    const token = await partner.sign({ sub: 'robot' });
    await exchange(a, 'gateway', { subject_token: token, subject_token_type: TYPE.jwt, resource: ORDERS });
    expect(await refusal(actFor(b, await subject(), token))).toMatchObject({ error: 'invalid_request', error_description: 'actor_token was already exchanged' });
    const actor = await partner.sign({ sub: 'robot' });
    await actFor(a, await subject(), actor);
    expect(await refusal(exchange(b, 'gateway', { subject_token: actor, subject_token_type: TYPE.jwt, resource: ORDERS })))
      .toMatchObject({ error: 'invalid_request', error_description: 'subject_token was already exchanged' });
  });

  it('concurrent requests with one actor token across both instances: exactly one is issued', async () => {
    const actor = await partner.sign({ sub: 'robot' });
    const subjects = await Promise.all(Array.from({ length: 6 }, (_, i) => subject(`partner-user-c${i}`)));
    const results = await Promise.allSettled(subjects.map((s, i) => actFor(i % 2 ? a : b, s, actor)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('a Baton access token as actor is a bearer token: reusable, as a Baton subject token is', async () => {
    const own = await clientCredentials(a, 'gateway', ORDERS);
    for (let i = 0; i < 2; i += 1) {
      const result = await actFor(a, await subject(), own, TYPE.access_token);
      expect((await verifyAccessToken(a, result.access_token, ORDERS)).payload.act).toEqual({ sub: 'gateway' });
    }
  });
});
