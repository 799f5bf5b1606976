// A grant made by exchanging a trusted issuer's JWT (subject_token_type jwt, with a refresh token)
// fails closed when that issuer is no longer trusted: removed from tokenExchange.trustedIssuers
// (Baton restarted on the same SQLite store) or from the client's tokenExchange.issuers. The refresh
// answers invalid_grant and the grant ends (trusting the issuer again does not bring it back), and a
// Baton access token of that subject can no longer be exchanged either.
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { issuerAccountId, trustedIssuerOf } from '../../src/provider/accounts.ts';
import { freePort, scratchDir, startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { tokenRequest } from '../helpers/token-request.ts';
import { PARTNER, startIssuer, TE, TYPE, type Issuer } from './environment.ts';

const API = 'https://api.example';
const dir = scratchDir('baton-removed-issuer-');
let port: number;
let partner: Issuer;
let baton: RunningBaton | undefined;

/** Baton on the same port and SQLite file; the partner trusted or not, and among `partner-app`'s issuers or not. */
async function start({ trusted, clientMay }: { trusted: boolean; clientMay: boolean }): Promise<RunningBaton> {
  await baton?.stop();
  baton = await startBaton({
    storage: { type: 'sqlite', path: join(dir.path, 'baton.db') },
    resources: [{ id: API, scopes: ['api:read'] }],
    tokenExchange: { trustedIssuers: trusted ? [{ issuer: PARTNER, jwksUri: partner.jwksUri, audiences: ['baton'] }] : [] },
    clients: [
      {
        client_id: 'partner-app', client_secret: '${SERVICE_SECRET}', grant_types: [TE, 'refresh_token'], resources: [{ id: API }],
        tokenExchange: { subjectTokenTypes: ['jwt'], issuers: clientMay && trusted ? [PARTNER] : [], refreshToken: true },
      },
      { client_id: 'relay', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: API }], tokenExchange: { subjectTokenTypes: ['access_token'] } },
    ],
  }, { port });
  return baton;
}

beforeAll(async () => {
  port = await freePort();
  partner = await startIssuer(PARTNER);
});
afterEach(async () => {
  await baton?.stop();
  baton = undefined;
});
afterAll(async () => {
  await partner?.stop();
  dir.remove();
});

const post = (b: RunningBaton, clientId: string, form: Record<string, string>) => tokenRequest(b.url, clientId, TEST_ENV.SERVICE_SECRET, form);

async function exchangePartnerJwt(b: RunningBaton, subject: string): Promise<{ access_token: string; refresh_token: string }> {
  const res = await post(b, 'partner-app', { grant_type: TE, subject_token: await partner.sign({ sub: subject }), subject_token_type: TYPE.jwt, resource: API, scope: 'api:read' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.refresh_token).toEqual(expect.any(String));
  return res.body as { access_token: string; refresh_token: string };
}

const refresh = (b: RunningBaton, token: string) => post(b, 'partner-app', { grant_type: 'refresh_token', refresh_token: token });
const relay = (b: RunningBaton, accessToken: string) => post(b, 'relay', { grant_type: TE, subject_token: accessToken, subject_token_type: TYPE.access_token, resource: API });

describe('a trusted issuer no longer trusted', () => {
  it('removed from tokenExchange.trustedIssuers: the refresh is invalid_grant, the grant ends, and the subject\'s Baton token is refused', async () => {
    let b = await start({ trusted: true, clientMay: true });
    const tokens = await exchangePartnerJwt(b, 'p-1');
    const refreshed = await refresh(b, tokens.refresh_token);
    expect(refreshed.status).toBe(200);
    expect((await relay(b, refreshed.body.access_token as string)).status).toBe(200);

    b = await start({ trusted: false, clientMay: false });
    const refused = await refresh(b, refreshed.body.refresh_token as string);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'invalid_grant' });
    const exchanged = await relay(b, refreshed.body.access_token as string);
    expect(exchanged.status).toBe(400);
    expect(exchanged.body).toMatchObject({ error: 'invalid_request' });

    // Trusted again: the grant stays ended.
    b = await start({ trusted: true, clientMay: true });
    expect((await refresh(b, refreshed.body.refresh_token as string)).body).toMatchObject({ error: 'invalid_grant' });
  });

  it('still trusted, but no longer among the issuers the client may exchange: the refresh is invalid_grant', async () => {
    let b = await start({ trusted: true, clientMay: true });
    const tokens = await exchangePartnerJwt(b, 'p-2');
    b = await start({ trusted: true, clientMay: false });
    expect((await refresh(b, tokens.refresh_token)).body).toMatchObject({ error: 'invalid_grant' });
  });

  it('trusted and allowed throughout: refreshes keep working across a restart', async () => {
    let b = await start({ trusted: true, clientMay: true });
    const tokens = await exchangePartnerJwt(b, 'p-3');
    b = await start({ trusted: true, clientMay: true });
    const refreshed = await refresh(b, tokens.refresh_token);
    expect(refreshed.status).toBe(200);
    expect((await refresh(b, refreshed.body.refresh_token as string)).status).toBe(200);
  });
});

describe('trustedIssuerOf', () => {
  it('reads back the issuer of an issuer account id, colons and percent signs included; other accounts have none', () => {
    for (const issuer of [PARTNER, 'https://idp.example:8443/tenant%2Fa', 'urn:example:issuer:%3A']) {
      expect(trustedIssuerOf(issuerAccountId(issuer, 'user:42'))).toBe(issuer);
    }
    expect(trustedIssuerOf('corp:ann')).toBeUndefined();
    expect(trustedIssuerOf('~password/web:ann')).toBeUndefined();
  });
});
