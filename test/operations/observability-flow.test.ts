// What an operator sees of one real session: a browser sign-in through a real upstream OP, an
// authorizer deciding `orders:` scopes, a refresh, a replayed refresh token, a failing hook and an
// RP-initiated logout. Afterwards the audit log holds each event (token ids hashed, no token, code or
// secret anywhere), /metrics shows the counters moved, and OpenTelemetry spans were recorded.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tokenRef } from '../../src/observability/events.ts';
import { launchBrowser, signInAtUpstream, startRedirectTarget, type LaunchedBrowser, type RedirectTarget } from '../helpers/browser.ts';
import { freePort, scratchDir, startBaton, TEST_ENV, TEST_MASTER_SECRET, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm, rejection } from '../helpers/rp.ts';
import { backAtApp, openAuthorize, redeem } from '../helpers/sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const ORDERS = 'https://orders.api.example';
const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';
const FAILING_HOOKS = fileURLToPath(new URL('../orchestration/fixtures/failing-hooks.ts', import.meta.url));

const spans = new InMemorySpanExporter();
const tracing = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const scratch = scratchDir('baton-audit-');
const auditFile = join(scratch.path, 'audit', 'events.jsonl');

let baton: RunningBaton;
let upstream: Upstream;
let authorizer: Server;
let browser: LaunchedBrowser;
let app: RedirectTarget;
let page: Page;

/** Everything the session handed out; none of it may appear in the audit log. */
const secrets: string[] = [TEST_MASTER_SECRET, TEST_ENV.WEB_SECRET, TEST_ENV.SERVICE_SECRET, UPSTREAM_SECRET, 'alice-pw'];
let session: { accessJti: string; subject: string };

beforeAll(async () => {
  trace.setGlobalTracerProvider(tracing);
  const port = await freePort();
  const batonUrl = `http://127.0.0.1:${port}`;
  [browser, app] = await Promise.all([launchBrowser(), startRedirectTarget()]);
  upstream = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: UPSTREAM_SECRET, redirect_uris: [`${batonUrl}/callback/corp`] }],
    users: [{ username: 'alice', password: 'alice-pw', claims: { email: 'alice@corp.example', email_verified: true, name: 'Alice' } }],
  });
  authorizer = createServer((req, res) => {
    req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: 'grant', scopes: ['orders:read'] })));
  });
  await new Promise<void>((resolve) => authorizer.listen(0, '127.0.0.1', resolve));
  baton = await startBaton({
    audit: { output: 'file', file: auditFile },
    upstreams: [{ id: 'corp', issuer: upstream.issuer, clientId: 'baton', clientSecret: UPSTREAM_SECRET }],
    resources: [{ id: ORDERS, scopes: ['orders:read', 'orders:write'] }],
    authorizers: [{ id: 'orders', url: `http://127.0.0.1:${(authorizer.address() as { port: number }).port}/decide`, namespace: 'orders:', cacheTTL: 0 }],
    clients: [
      { client_id: 'web', client_secret: '${WEB_SECRET}', redirect_uris: [app.redirectUri], post_logout_redirect_uris: [app.redirectUri], resources: [{ id: ORDERS }] },
      { client_id: 'service', client_secret: '${SERVICE_SECRET}', grant_types: ['client_credentials'], resources: [{ id: ORDERS }], hooks: { module: FAILING_HOOKS, timeout: '2s' } },
    ],
  }, { port });
  page = await browser.newPage();
});

afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
  await Promise.all([baton?.stop(), upstream?.stop(), new Promise((resolve) => authorizer?.close(resolve))]);
  trace.disable();
  scratch.remove();
});

function auditEvents(): Array<Record<string, unknown>> {
  return readFileSync(auditFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('one session, as the operator sees it', () => {
  it('runs: sign-in, authorizer decision, refresh, replay, failing hook, logout', async () => {
    const started = await openAuthorize(page, baton.url, app, 'web', TEST_ENV.WEB_SECRET, { resource: ORDERS, scope: 'openid email orders:read orders:write' });
    await signInAtUpstream(page, 'alice', 'alice-pw');
    const tokens = await redeem(started, await backAtApp(page, app));
    expect(tokens.scope).toBe('orders:read');
    secrets.push(tokens.access_token, tokens.refresh_token!, tokens.id_token!);
    session = { accessJti: String(JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).jti), subject: tokens.claims()!.sub };

    const refreshed = await client.refreshTokenGrant(started.rp, tokens.refresh_token!, { resource: ORDERS });
    secrets.push(refreshed.access_token, refreshed.refresh_token!);
    // Presented again at once (a retry): inside the reuse grace window, the same successor.
    const retried = await client.refreshTokenGrant(started.rp, tokens.refresh_token!, { resource: ORDERS });
    expect(retried.refresh_token).toBe(refreshed.refresh_token);
    secrets.push(retried.access_token);
    // Once the successor was used, presenting the first refresh token again is reuse.
    const next = await client.refreshTokenGrant(started.rp, refreshed.refresh_token!, { resource: ORDERS });
    secrets.push(next.access_token, next.refresh_token!);
    expect(await rejection(client.refreshTokenGrant(started.rp, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });

    const failed = await postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS)}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    expect(failed.status).toBe(500);

    // Reuse ended the grant, so sign in again to have a session to log out of.
    const again = await openAuthorize(page, baton.url, app, 'web', TEST_ENV.WEB_SECRET);
    const second = await redeem(again, await backAtApp(page, app));
    secrets.push(second.access_token, second.refresh_token!, second.id_token!);
    await page.goto(client.buildEndSessionUrl(again.rp, { post_logout_redirect_uri: app.redirectUri, id_token_hint: second.id_token! }).href);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await backAtApp(page, app);
  });

  it('the audit log holds each event, with token ids hashed', async () => {
    await expect.poll(() => auditEvents().some((e) => e.type === 'user.logged_out'), { timeout: 5000 }).toBe(true);
    const events = auditEvents();
    const ofType = (type: string) => events.filter((e) => e.type === type);
    for (const event of events) expect(Date.parse(String(event.time))).not.toBeNaN();

    expect(ofType('config.loaded')[0]).toMatchObject({ issuer: baton.url, clients: 2, upstreams: 1, authorizers: 1, storage: 'memory' });
    expect(ofType('config.loaded')[0]!.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(ofType('user.signed_in')[0]).toMatchObject({ upstream: 'corp', clientId: 'web', sub: session.subject });
    expect(ofType('authorizer.decision')[0]).toMatchObject({ authorizer: 'orders', sub: session.subject, clientId: 'web', grantType: 'authorization_code', outcome: 'granted', requested: ['orders:read', 'orders:write'], granted: ['orders:read'], cached: false });
    const issued = ofType('token.issued').find((e) => e.grantType === 'authorization_code')!;
    expect(issued).toMatchObject({ clientId: 'web', sub: session.subject, resource: ORDERS, scope: 'orders:read' });
    expect((issued.tokens as Record<string, string>).access).toBe(tokenRef(session.accessJti));
    expect(Object.keys(issued.tokens as object).sort()).toEqual(['access', 'id', 'refresh']);
    expect(ofType('token.refreshed')[0]).toMatchObject({ grantType: 'refresh_token', clientId: 'web', sub: session.subject });
    // A retry and a theft read differently: one grace replay, then one reuse.
    expect(ofType('token.grace_replay')).toHaveLength(1);
    expect(ofType('token.grace_replay')[0]).toMatchObject({ clientId: 'web', sub: session.subject });
    expect(ofType('token.reuse_detected')[0]).toMatchObject({ model: 'RefreshToken', clientId: 'web' });
    expect(ofType('hook.failed')[0]).toMatchObject({ hook: 'buildAccessTokenClaims', clientId: 'service', kind: 'threw' });
    expect(ofType('user.logged_out')[0]).toMatchObject({ sub: session.subject, clientId: 'web' });
  });

  it('never writes a token, code or secret', () => {
    const text = readFileSync(auditFile, 'utf8');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('hunter2'); // the failing hook's error message
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/); // no JWT at all
  });

  it('/metrics shows the counters moved', async () => {
    const text = await (await fetch(`${baton.url}/metrics`)).text();
    const count = (series: string) => Number(text.split('\n').find((l) => l.startsWith(series))?.slice(series.length).trim() ?? 0);
    expect(count('baton_token_requests_total{grant_type="authorization_code",client_id="web",result="issued"}')).toBe(2);
    // A rotation, its grace replay, and the successor's own rotation.
    expect(count('baton_token_requests_total{grant_type="refresh_token",client_id="web",result="issued"}')).toBe(3);
    expect(count('baton_refresh_total{outcome="rotated"}')).toBe(2);
    expect(count('baton_refresh_total{outcome="grace_replay"}')).toBe(1);
    expect(count('baton_refresh_total{outcome="reuse_revoked"}')).toBe(1);
    expect(count('baton_refresh_total{outcome="given_back"}')).toBe(0);
    expect(count('baton_token_requests_total{grant_type="refresh_token",client_id="web",result="invalid_grant"}')).toBe(1);
    expect(count('baton_upstream_request_seconds_count{upstream="corp",operation="sign_in",result="ok"}')).toBe(1);
    expect(count('baton_authorizer_decision_seconds_count{authorizer="orders",outcome="granted",cached="false"}')).toBeGreaterThanOrEqual(2);
    expect(count('baton_hook_seconds_count{hook="buildAccessTokenClaims",result="threw"}')).toBe(1);
    // The failing hook answered 500: counted too, as server_error.
    expect(count('baton_token_requests_total{grant_type="client_credentials",client_id="service",result="server_error"}')).toBe(1);
  });

  it('OpenTelemetry spans cover upstream calls, authorizers, hooks and storage', () => {
    const finished = spans.getFinishedSpans();
    const named = (name: string) => finished.filter((span) => span.name === name);
    expect(named('upstream.sign_in')[0]!.attributes['baton.upstream']).toBe('corp');
    expect(named('authorizer.decide')[0]!.attributes).toMatchObject({ 'baton.authorizer': 'orders', 'baton.authorizer.outcome': 'granted' });
    const hook = named('hook.buildAccessTokenClaims').find((span) => span.attributes['baton.client_id'] === 'service')!;
    expect(hook.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(named('storage.consume').length).toBeGreaterThan(0);
    expect(named('storage.consume')[0]!.attributes['db.system']).toBe('memory');
  });
});
