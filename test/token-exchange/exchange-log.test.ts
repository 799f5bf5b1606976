// The per-exchange `token exchanged` line (who acted for whom, for which resource and scopes) goes
// to the access log's destination, buffered like the `request` lines, not a write of its own per
// exchange: on the lean token path and through the full Koa pipeline alike, with no token in it.
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createAccessLogger } from '../../src/observability/logger.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { TE, TYPE } from './environment.ts';

const API = 'https://orders.api.example';
const PARTNER = 'https://partner.example';
const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
let jwks: Server;
let full: Server;
let fullUrl: string;
let baton: RunningBaton;

/** A destination that keeps every JSON line written to it. */
function capture(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}
const main = capture();
const access = capture();

beforeAll(async () => {
  const keys = { keys: [{ ...es.publicKey.export({ format: 'jwk' }), kid: 'es', alg: 'ES256', use: 'sig' }] };
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys)));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  baton = await startBaton({
    resources: [{ id: API, scopes: ['orders:read'] }],
    tokenExchange: { trustedIssuers: [{ issuer: PARTNER, jwksUri: `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`, audiences: ['baton'] }] },
    clients: [{ client_id: 'gateway', client_secret: '${SERVICE_SECRET}', grant_types: [TE], resources: [{ id: API }], tokenExchange: { subjectTokenTypes: ['jwt'], issuers: [PARTNER] } }],
  }, { logger: pino({ level: 'info' }, main.stream), accessLogger: createAccessLogger('info', access.stream) });
  full = createServer((req, res) => baton.baton.provider.callback()(req, res));
  await new Promise<void>((resolve) => full.listen(0, '127.0.0.1', resolve));
  fullUrl = `http://127.0.0.1:${(full.address() as { port: number }).port}`;
});

afterAll(async () => {
  await baton?.stop();
  await new Promise((resolve) => full?.close(resolve));
  await new Promise((resolve) => jwks?.close(resolve));
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function partnerJwt(): string {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', kid: 'es' })}.${b64({ iss: PARTNER, sub: 'partner-user', aud: 'baton', iat: now, exp: now + 300, jti: randomUUID() })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: es.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

describe('the token exchanged line', () => {
  it.each([['the lean token path', () => baton.url], ['the full pipeline', () => fullUrl]])('is written to the access log on %s, names the parties, and holds no token', async (_path, url) => {
    const subjectToken = partnerJwt();
    const form = new URLSearchParams({ grant_type: TE, subject_token: subjectToken, subject_token_type: TYPE.jwt, resource: API, scope: 'orders:read' });
    const { status, json } = await postForm(`${url()}/token`, form, { authorization: basic('gateway', TEST_ENV.SERVICE_SECRET) });
    expect(status).toBe(200);
    const written = access.lines.filter((line) => line.msg === 'token exchanged');
    expect(written.at(-1)).toMatchObject({ level: 'info', event: 'token_exchange', clientId: 'gateway', sub: expect.stringContaining('partner-user'), subjectTokenType: 'jwt', resource: API, scope: 'orders:read' });
    expect(main.lines.filter((line) => line.msg === 'token exchanged')).toEqual([]);
    const text = JSON.stringify([...access.lines, ...main.lines]);
    expect(text).not.toContain(subjectToken.split('.')[2]);
    expect(text).not.toContain(String(json.access_token).split('.')[2]);
  });
});
