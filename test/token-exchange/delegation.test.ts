// RFC 8693 delegation: a Baton access token as subject_token, an actor_token (section 4.1 nested
// `act`), `may_act` (section 4.4) honoured, and JWTs from trusted issuers as subject or actor.
// A party is an issuer and a subject together; an actor token is the caller's own or delegated to it.
import { randomUUID } from 'node:crypto';

import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TEST_ENV } from '../helpers/baton.ts';
import { basic, postForm, rejection } from '../helpers/rp.ts';
import {
  BILLING, clientCredentials, exchange, ORDERS, PARTNER, refusal, startEnvironment, TYPE, verifyAccessToken, type Environment,
} from './environment.ts';

let env: Environment;

beforeAll(async () => {
  env = await startEnvironment();
});

afterAll(async () => {
  await env?.stop();
});

/** A user's Baton access token, as `clientId` obtains it from an upstream id_token. */
async function userToken(sub: string, clientId = 'gateway', resource = ORDERS): Promise<string> {
  const idToken = await env.google.issueIdToken({ sub, nonce: randomUUID() });
  return (await exchange(env.baton, clientId, { subject_token: idToken, subject_token_type: TYPE.id_token, resource, scope: 'orders:read' })).access_token;
}

const delegate = (clientId: string, subject: string, actor: string | undefined, resource = BILLING, actorType: string = TYPE.access_token) =>
  exchange(env.baton, clientId, {
    subject_token: subject, subject_token_type: TYPE.access_token, resource, ...(actor ? { actor_token: actor, actor_token_type: actorType } : {}),
  });

describe('token exchange: Baton access tokens and actors', () => {
  it('subject + actor token: the result is for the user, with act naming the actor; a second hop nests the first', async () => {
    const subject = await userToken('g-delegated');
    const worker = await clientCredentials(env.baton, 'worker', BILLING);
    const first = await delegate('worker', subject, worker);
    expect(first).toMatchObject({ issued_token_type: TYPE.access_token, scope: 'billing:read billing:admin' });
    const { payload } = await verifyAccessToken(env.baton, first.access_token, BILLING);
    expect(payload).toMatchObject({ sub: 'google:g-delegated', client_id: 'worker', act: { sub: 'worker' } });

    const gateway = await clientCredentials(env.baton, 'gateway', BILLING);
    const second = await delegate('gateway', first.access_token, gateway);
    const nested = (await verifyAccessToken(env.baton, second.access_token, BILLING)).payload;
    expect(nested).toMatchObject({ sub: 'google:g-delegated', client_id: 'gateway', act: { sub: 'gateway', act: { sub: 'worker' } } });

    // Without an actor, an exchange keeps the chain the subject token carries.
    const kept = await delegate('worker', second.access_token, undefined);
    expect((await verifyAccessToken(env.baton, kept.access_token, BILLING)).payload.act).toEqual({ sub: 'gateway', act: { sub: 'worker' } });
  });

  it('may_act in the subject token: only the actor it names may act', async () => {
    const subject = await userToken('g-may-act', 'delegating-app');
    expect((await verifyAccessToken(env.baton, subject, ORDERS)).payload.may_act).toEqual({ sub: 'worker' });
    const worker = await clientCredentials(env.baton, 'worker', BILLING);
    const gateway = await clientCredentials(env.baton, 'gateway', BILLING);

    const allowed = await delegate('worker', subject, worker);
    expect((await verifyAccessToken(env.baton, allowed.access_token, BILLING)).payload.act).toEqual({ sub: 'worker' });
    expect(await rejection(delegate('gateway', subject, gateway))).toMatchObject({ error: 'invalid_request' });
    // Without an actor token the calling client is the actor: gateway is not named, worker is.
    expect(await rejection(delegate('gateway', subject, undefined))).toMatchObject({ error: 'invalid_request' });
    expect((await delegate('worker', subject, undefined)).access_token).toBeTruthy();
  });

  it('refuses a client_credentials token as subject, and a forged or tampered access token', async () => {
    const service = await clientCredentials(env.baton, 'worker', BILLING);
    expect(await rejection(delegate('gateway', service, undefined))).toMatchObject({ error: 'invalid_request' });

    const subject = await userToken('g-tamper');
    const [header, body, signature] = subject.split('.');
    const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), scope: 'orders:write' })).toString('base64url');
    expect(await rejection(delegate('gateway', `${header}.${widened}.${signature}`, undefined))).toMatchObject({ error: 'invalid_request' });

    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ iss: env.baton.url, sub: 'google:g-admin', client_id: 'gateway', aud: ORDERS, iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign((await generateKeyPair('ES256')).privateKey);
    expect(await rejection(delegate('gateway', forged, undefined))).toMatchObject({ error: 'invalid_request' });
  });

  it('an opaque Baton access token is looked up, not decoded', async () => {
    const idToken = await env.google.issueIdToken({ sub: 'g-opaque', nonce: randomUUID() });
    const opaque = await exchange(env.baton, 'gateway', { subject_token: idToken, subject_token_type: TYPE.id_token, audience: 'audit' });
    expect(opaque.access_token.split('.')).toHaveLength(1);
    const introspected = await postForm(`${env.baton.url}/introspect`, new URLSearchParams({ token: opaque.access_token }), { authorization: basic('gateway', TEST_ENV.SERVICE_SECRET) });
    expect(introspected.json).toMatchObject({ active: true, sub: 'google:g-opaque', client_id: 'gateway', aud: 'audit', scope: 'audit:read' });
    const result = await delegate('gateway', opaque.access_token, undefined, ORDERS);
    expect((await verifyAccessToken(env.baton, result.access_token, ORDERS)).payload.sub).toBe('google:g-opaque');
    expect(await rejection(delegate('gateway', `${opaque.access_token}x`, undefined, ORDERS))).toMatchObject({ error: 'invalid_request' });
  });

  it('an actor token from a client whose policy does not allow actors is invalid_request (RFC 8693 section 2.2.2)', async () => {
    const idToken = await env.google.issueIdToken({ sub: 'g-no-actor', nonce: randomUUID() });
    const worker = await clientCredentials(env.baton, 'worker', BILLING);
    const result = exchange(env.baton, 'delegating-app', { subject_token: idToken, subject_token_type: TYPE.id_token, resource: ORDERS, actor_token: worker, actor_token_type: TYPE.access_token });
    expect(await rejection(result)).toMatchObject({ error: 'invalid_request' });
  });
});

describe('token exchange: actors are issuer and subject together (RFC 8693 section 4.4)', () => {
  it('a client cannot present another client\'s access token as its actor_token', async () => {
    const subject = await userToken('g-borrowed-actor');
    const worker = await clientCredentials(env.baton, 'worker', BILLING);
    const refused = await refusal(delegate('gateway', subject, worker));
    expect(refused).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('another client') });
  });

  it('an actor token issued to another client is accepted when its may_act names the caller (explicit delegation)', async () => {
    // delegating-app's tokens carry may_act { sub: worker }: worker may act with them, gateway may not.
    const delegated = await userToken('g-delegates', 'delegating-app');
    const subject = await userToken('g-delegated-to');
    const result = await delegate('worker', subject, delegated);
    expect((await verifyAccessToken(env.baton, result.access_token, BILLING)).payload.act).toEqual({ sub: 'google:g-delegates' });
    expect(await rejection(delegate('gateway', subject, delegated))).toMatchObject({ error: 'invalid_request' });
  });

  it('may_act without iss names one of Baton\'s own: a trusted issuer\'s JWT with that sub does not satisfy it', async () => {
    const subject = await userToken('g-may-act-spoof', 'delegating-app');
    expect((await verifyAccessToken(env.baton, subject, ORDERS)).payload.may_act).toEqual({ sub: 'worker' });
    const spoof = await env.partner.sign({ sub: 'worker' });
    const refused = await refusal(delegate('gateway', subject, spoof, BILLING, TYPE.jwt));
    expect(refused).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('may_act') });
  });

  it('may_act without iss in a trusted issuer\'s JWT names that issuer\'s subject, never a Baton client', async () => {
    const token = await env.partner.sign({ sub: 'p-may-act', may_act: { sub: 'gateway' } });
    const refused = await refusal(exchange(env.baton, 'gateway', { subject_token: token, subject_token_type: TYPE.jwt, resource: ORDERS }));
    expect(refused).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('may_act') });
    // Naming Baton explicitly is delegation to Baton's client.
    const explicit = await env.partner.sign({ sub: 'p-may-act', may_act: { sub: 'gateway', iss: env.baton.url } });
    expect((await exchange(env.baton, 'gateway', { subject_token: explicit, subject_token_type: TYPE.jwt, resource: ORDERS })).access_token).toBeTruthy();
  });

  it('the act chain of a trusted issuer\'s JWT keeps that issuer: its actors never read as Baton\'s', async () => {
    const token = await env.partner.sign({ sub: 'p-chain', act: { sub: 'gateway' } });
    const result = await exchange(env.baton, 'gateway', { subject_token: token, subject_token_type: TYPE.jwt, resource: ORDERS });
    expect((await verifyAccessToken(env.baton, result.access_token, ORDERS)).payload.act).toEqual({ sub: 'gateway', iss: PARTNER });
  });

  it('a trusted issuer\'s JWT whose act names Baton as an actor\'s issuer is refused: only Baton vouches for its own parties', async () => {
    const seen: string[] = [];
    const stop = env.baton.baton.events.subscribe((event) => { if (event.type === 'token.issued') seen.push(event.type); });
    for (const act of [{ sub: 'worker', iss: env.baton.url }, { sub: 'partner-robot', act: { sub: 'worker', iss: env.baton.url } }]) {
      const token = await env.partner.sign({ sub: 'p-forged-act', act });
      expect(await rejection(exchange(env.baton, 'gateway', { subject_token: token, subject_token_type: TYPE.jwt, resource: ORDERS }))).toMatchObject({ error: 'invalid_request' });
    }
    expect(seen).toEqual([]);
    stop();
  });
});

describe('token exchange: JWTs from trusted issuers', () => {
  const exchangeJwt = (token: string, extra: Record<string, string> = {}) =>
    exchange(env.baton, 'gateway', { subject_token: token, subject_token_type: TYPE.jwt, resource: ORDERS, scope: 'orders:read', ...extra });

  it('a partner JWT becomes a token for `~issuer/{issuer}:{sub}`, once', async () => {
    const token = await env.partner.sign({ sub: 'p-42', email: 'p42@partner.example' });
    const result = await exchangeJwt(token);
    expect((await verifyAccessToken(env.baton, result.access_token, ORDERS)).payload).toMatchObject({ sub: '~issuer/https%3A//partner.example:p-42', client_id: 'gateway', scope: 'orders:read' });
    expect(await rejection(exchangeJwt(token))).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses an issuer the client may not use, a wrong audience, a foreign key, an old token', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await rejection(exchangeJwt(await env.otherPartner.sign({})))).toMatchObject({ error: 'invalid_request' });
    expect(await rejection(exchangeJwt(await env.partner.sign({ aud: 'someone-else' })))).toMatchObject({ error: 'invalid_request' });
    expect(await rejection(exchangeJwt(await env.partner.sign({}, { foreignKey: true })))).toMatchObject({ error: 'invalid_request' });
    expect(await rejection(exchangeJwt(await env.partner.sign({ iat: now - 900 })))).toMatchObject({ error: 'invalid_request' });
  });

  it('a partner JWT as actor token: act carries its sub and iss', async () => {
    const subject = await userToken('g-partner-acts');
    const actor = await env.partner.sign({ sub: 'partner-robot' });
    const result = await delegate('gateway', subject, actor, ORDERS, TYPE.jwt);
    expect((await verifyAccessToken(env.baton, result.access_token, ORDERS)).payload.act).toEqual({ sub: 'partner-robot', iss: PARTNER });
  });
});
