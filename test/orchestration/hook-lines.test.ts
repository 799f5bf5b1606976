// The log lines of hook calls at the token endpoint: a run's `hook ran` goes to the access log's
// logger (buffered in a server, like `request` lines), a failure's `hook failed` to the main one at
// once; both name the request (reqId, the response's X-Request-Id).
import { fileURLToPath } from 'node:url';

import * as client from 'openid-client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { BatonEvent } from '../../src/observability/events.ts';
import { createAccessLogger } from '../../src/observability/logger.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { WEB_REDIRECT } from '../fixtures/standard.ts';
import { basic, discover } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';
import { captureLines } from '../helpers/log-capture.ts';

const API = 'https://tickets.api.example';
const fixture = (name: string) => fileURLToPath(new URL(`./hooks/fixtures/${name}`, import.meta.url));

const main = captureLines();
const access = captureLines();
const events: BatonEvent[] = [];
let baton: RunningBaton;

beforeAll(async () => {
  baton = await startBaton({
    resources: [{ id: API, scopes: ['tickets:read'], accessTokenFormat: 'jwt' }],
    // Provider-level: userinfo's hook runs after the provider's own route, outside its request context.
    hooks: { module: fileURLToPath(new URL('./fixtures/userinfo-hooks.mjs', import.meta.url)) },
    clients: [
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [WEB_REDIRECT], resources: [{ id: API }] },
      { client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }], hooks: { module: fixture('ticket.ts') } },
      { client_id: 'broken', client_secret: '${WEB_SECRET}', grant_types: ['client_credentials'], resources: [{ id: API }], hooks: { module: fixture('throws.js') } },
    ],
  }, { logger: pino({ level: 'info' }, main.stream), accessLogger: createAccessLogger('info', access.stream) });
  baton.baton.events.subscribe((event) => events.push(event));
});
afterAll(() => baton?.stop());

const ask = (clientId: string, secret: string, requestId: string, extra = '') => fetch(`${baton.url}/token`, {
  method: 'POST',
  headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': requestId },
  body: `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=tickets:read${extra}`,
});
const named = (lines: ReadonlyArray<Record<string, unknown>>, msg: string, requestId: string) => lines.filter((line) => line.msg === msg && line.reqId === requestId);

describe('hook lines at the token endpoint', () => {
  it('a run goes to the access log, with its request id, on the lean path and the provider\'s pipeline', async () => {
    for (const [requestId, extra] of [['hook-line-lean', ''], ['hook-line-full', '&unknown_parameter=1']] as const) {
      const response = await ask('service', TEST_ENV.SERVICE_SECRET, requestId, extra);
      expect(response.status).toBe(200);
      const { access_token: token } = (await response.json()) as { access_token: string };
      expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())).toMatchObject({ ticket: 'T-1' });
      expect(named(access.lines, 'hook ran', requestId)).toEqual([expect.objectContaining({ event: 'hook.ran', hook: 'buildAccessTokenClaims', clientId: 'service' })]);
    }
    expect(main.lines.filter((line) => line.msg === 'hook ran')).toEqual([]);
  });

  it('a run at userinfo names its request too (the hook\'s context gives it)', async () => {
    const rp = await discover(baton.url, 'web', TEST_ENV.WEB_SECRET);
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, accountId: 'entra:ann' });
    const tokens = await client.authorizationCodeGrant(rp, seeded.callbackUrl(baton.url), { pkceCodeVerifier: seeded.codeVerifier, expectedNonce: seeded.nonce });
    const response = await fetch(rp.serverMetadata().userinfo_endpoint!, { headers: { authorization: `Bearer ${tokens.access_token}`, 'x-request-id': 'hook-line-userinfo' } });
    expect(response.status).toBe(200);
    expect(named(access.lines, 'hook ran', 'hook-line-userinfo')).toEqual([expect.objectContaining({ event: 'hook.ran', hook: 'buildUserInfoClaims' })]);
  });

  it('a failure goes to the main logger at once, with its request id', async () => {
    const response = await ask('broken', TEST_ENV.WEB_SECRET, 'hook-line-failed');
    expect(response.status).toBe(500);
    expect(named(main.lines, 'hook failed', 'hook-line-failed')).toEqual([expect.objectContaining({ event: 'hook.failed', hook: 'buildAccessTokenClaims', clientId: 'broken', kind: 'threw' })]);
    expect(named(access.lines, 'hook failed', 'hook-line-failed')).toEqual([]);
    // The runner's error line (the failure's detail) and the audit event name it as well.
    expect(main.lines.filter((line) => line.level === 50 && line.event === 'hook.failed' && line.reqId === 'hook-line-failed')).toHaveLength(1);
    expect(events).toContainEqual(expect.objectContaining({ type: 'hook.failed', hook: 'buildAccessTokenClaims', clientId: 'broken', reqId: 'hook-line-failed' }));
  });
});
