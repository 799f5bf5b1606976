// The per-exchange `token exchanged` line (who acted for whom, for which resource and scopes) goes
// to the access log's destination, buffered like the `request` lines, not a write of its own per
// exchange: on the lean token path and through the full Koa pipeline alike, with no token in it.
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createAccessLogger } from '../../src/observability/logger.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { fullPipeline } from '../helpers/two-paths.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { captureLines } from '../helpers/log-capture.ts';
import { gatewayConfig, ORDERS as API, PARTNER, serveJwks, TE, TYPE } from './environment.ts';

const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
let jwks: Awaited<ReturnType<typeof serveJwks>>;
let full: Awaited<ReturnType<typeof fullPipeline>>;
let baton: RunningBaton;

const main = captureLines();
const access = captureLines();

beforeAll(async () => {
  jwks = await serveJwks([{ ...es.publicKey.export({ format: 'jwk' }), kid: 'es', alg: 'ES256', use: 'sig' }]);
  baton = await startBaton(gatewayConfig(jwks.url), { logger: pino({ level: 'info' }, main.stream), accessLogger: createAccessLogger('info', access.stream) });
  full = await fullPipeline(baton);
});

afterAll(async () => {
  await baton?.stop();
  await full?.close();
  await jwks?.close();
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function partnerJwt(): string {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', kid: 'es' })}.${b64({ iss: PARTNER, sub: 'partner-user', aud: 'baton', iat: now, exp: now + 300, jti: randomUUID() })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: es.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

describe('the token exchanged line', () => {
  it.each([['the lean token path', () => baton.url], ['the full pipeline', () => `http://127.0.0.1:${full.port}`]])('is written to the access log on %s, names the parties, and holds no token', async (_path, url) => {
    const subjectToken = partnerJwt();
    const form = new URLSearchParams({ grant_type: TE, subject_token: subjectToken, subject_token_type: TYPE.jwt, resource: API, scope: 'orders:read' });
    const { status, json, headers } = await postForm(`${url()}/token`, form, { authorization: basic('gateway', TEST_ENV.SERVICE_SECRET) });
    expect(status).toBe(200);
    // This request's line, exactly one.
    const written = access.lines.filter((line) => line.msg === 'token exchanged' && line.reqId === headers.get('x-request-id'));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ level: 'info', event: 'token_exchange', clientId: 'gateway', sub: expect.stringContaining('partner-user'), subjectTokenType: 'jwt', resource: API, scope: 'orders:read' });
    expect(main.lines.filter((line) => line.msg === 'token exchanged')).toEqual([]);
    const text = JSON.stringify([...access.lines, ...main.lines]);
    expect(text).not.toContain(subjectToken.split('.')[2]);
    expect(text).not.toContain(String(json.access_token).split('.')[2]);
  });

  it('never carries a subject that is not a string: such a JWT is refused (RFC 7519 section 4.1.2), its claim logged nowhere', async () => {
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64({ alg: 'ES256', kid: 'es' })}.${b64({ iss: PARTNER, sub: { access_token: 'planted-token-value' }, aud: 'baton', iat: now, exp: now + 300, jti: randomUUID() })}`;
    const subjectToken = `${input}.${sign('sha256', Buffer.from(input), { key: es.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    for (const url of [baton.url, `http://127.0.0.1:${full.port}`]) {
      const form = new URLSearchParams({ grant_type: TE, subject_token: subjectToken, subject_token_type: TYPE.jwt, resource: API, scope: 'orders:read' });
      const { status, json } = await postForm(`${url}/token`, form, { authorization: basic('gateway', TEST_ENV.SERVICE_SECRET) });
      expect(status).toBe(400);
      expect(json).toMatchObject({ error: 'invalid_request', error_description: 'subject_token is invalid ("sub" claim must be a string)' });
    }
    expect(JSON.stringify([...access.lines, ...main.lines])).not.toContain('planted-token-value');
  });
});
