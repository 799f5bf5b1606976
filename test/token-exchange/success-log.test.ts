// The `token exchanged` line of a successful exchange goes to the access log's logger (buffered, one
// write per few KiB of lines, never a thread-pool write per line), on the lean token path and through
// the full pipeline alike: the same fields as before, no token in it; a refusal stays on the main logger.
import { createServer, type Server } from 'node:http';

import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createAccessLogger, createLogger } from '../../src/observability/logger.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { TE, TYPE } from './environment.ts';

const API = 'https://orders.api.example';
const PARTNER = 'https://partner.example';
type Line = Record<string, unknown>;
const mainLines: Line[] = [];
const accessLines: Line[] = [];
const sink = (lines: Line[]) => ({ write: (line: string) => { lines.push(JSON.parse(line) as Line); } });
let keys: CryptoKey;
let jwks: Server;
let baton: RunningBaton;
let full: Server;
let fullUrl: string;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  keys = pair.privateKey as CryptoKey;
  const body = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'p1', alg: 'ES256', use: 'sig' }] });
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  baton = await startBaton({
    resources: [{ id: API, scopes: ['orders:read'] }],
    tokenExchange: { trustedIssuers: [{ issuer: PARTNER, jwksUri: `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`, audiences: ['baton'] }] },
    clients: [{ client_id: 'gateway', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: API }], tokenExchange: { subjectTokenTypes: ['jwt'], issuers: [PARTNER] } }],
  }, { logger: createLogger('info', sink(mainLines)), accessLogger: createAccessLogger('info', sink(accessLines)) });
  full = createServer((req, res) => baton.baton.provider.callback()(req, res));
  await new Promise<void>((resolve) => full.listen(0, '127.0.0.1', resolve));
  fullUrl = `http://127.0.0.1:${(full.address() as { port: number }).port}`;
});

afterAll(async () => {
  await baton?.stop();
  await new Promise((resolve) => full?.close(resolve));
  await new Promise((resolve) => jwks?.close(resolve));
});

async function partnerJwt(sub: string, aud = 'baton'): Promise<string> {
  return new SignJWT({ sub }).setProtectedHeader({ alg: 'ES256', kid: 'p1' }).setIssuer(PARTNER).setAudience(aud).setIssuedAt().setExpirationTime('5m').setJti(crypto.randomUUID()).sign(keys);
}

async function exchange(url: string, subjectToken: string): Promise<number> {
  const form = new URLSearchParams({ grant_type: TE, subject_token: subjectToken, subject_token_type: TYPE.jwt, resource: API, scope: 'orders:read' });
  return (await postForm(`${url}/token`, form, { authorization: basic('gateway', TEST_ENV.SERVICE_SECRET) })).status;
}

const exchanged = (lines: Line[]) => lines.filter((line) => line.msg === 'token exchanged');

describe('the token exchanged line', () => {
  for (const [path, url] of [['lean token path', () => baton.url], ['full pipeline', () => fullUrl]] as const) {
    it(`goes to the access logger, with its fields and no token (${path})`, async () => {
      const [main, access] = [mainLines.length, accessLines.length];
      const subject = await partnerJwt(`user-${path}`);
      expect(await exchange(url(), subject)).toBe(200);
      expect(exchanged(mainLines.slice(main))).toEqual([]);
      const [line, ...more] = exchanged(accessLines.slice(access));
      expect(more).toEqual([]);
      expect(line).toMatchObject({
        level: 'info', service: 'baton', event: 'token_exchange', clientId: 'gateway', sub: expect.stringContaining(`user-${path}`),
        subjectTokenType: 'jwt', resource: API, scope: 'orders:read', reqId: expect.any(String),
      });
      expect(Object.keys(line!).sort()).toEqual(['clientId', 'event', 'level', 'msg', 'reqId', 'resource', 'scope', 'service', 'sub', 'subjectTokenType', 'time']);
      expect(JSON.stringify(line)).not.toContain(subject.split('.')[2]);
    });
  }

  it('a refused exchange writes no token exchanged line, and its refusal stays on the main logger', async () => {
    const [main, access] = [mainLines.length, accessLines.length];
    expect(await exchange(baton.url, await partnerJwt('refused', 'another-audience'))).toBe(400);
    expect(exchanged(accessLines.slice(access))).toEqual([]);
    expect(exchanged(mainLines.slice(main))).toEqual([]);
    expect(mainLines.slice(main).some((line) => line.msg === 'request refused' && line.error === 'invalid_request')).toBe(true);
  });
});
