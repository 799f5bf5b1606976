// The device grant through a passthrough issuer (RFC 8628): a TV app registered at the upstream (a
// public client) gets its user code from the upstream's device authorization endpoint, which the
// passthrough discovery keeps, and polls Baton's token endpoint. Baton relays authorization_pending,
// then verifies the upstream's id_token and answers with its own tokens; the user approves at the
// upstream in Chromium.
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signInAtUpstream } from '../helpers/browser.ts';
import { postForm } from '../helpers/rp.ts';
import { startEnvironment, type Environment } from './environment.ts';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

let env: Environment;
let page: Page;
beforeAll(async () => {
  env = await startEnvironment();
  page = await env.browser.newPage();
});
afterAll(async () => {
  await page?.close();
  await env?.stop();
});

const tv = () => client.discovery(new URL(env.issuer('mail')), 'tv-app', undefined, client.None(), { execute: [client.allowInsecureRequests] });

describe('device grant through the passthrough issuer', () => {
  it('advertises the device grant and keeps the upstream\'s device authorization endpoint', async () => {
    const rp = await tv();
    const metadata = rp.serverMetadata();
    expect(metadata.grant_types_supported).toContain(DEVICE_CODE);
    expect(new URL(metadata.device_authorization_endpoint!).origin).toBe(new URL(env.google.issuer).origin);
    expect(metadata.token_endpoint).toBe(`${env.issuer('mail')}/token`);
  });

  it('relays authorization_pending, then issues Baton\'s tokens once the user approved at the upstream', async () => {
    const rp = await tv();
    const started = await client.initiateDeviceAuthorization(rp, { scope: 'openid email' });

    // Before approval: the upstream's answer, relayed as it is.
    const pending = await postForm(`${env.issuer('mail')}/token`, new URLSearchParams({ grant_type: DEVICE_CODE, device_code: started.device_code, client_id: 'tv-app' }));
    expect(pending.status).toBe(400);
    expect(pending.json).toMatchObject({ error: 'authorization_pending' });

    // The user, on a phone: the upstream's own pages (confirm the code, sign in).
    await page.goto(started.verification_uri_complete!);
    await page.getByRole('button', { name: 'Continue' }).click();
    await signInAtUpstream(page, 'bob@example.org', 'bob-pw');

    const tokens = await client.pollDeviceAuthorizationGrant(rp, { ...started, interval: 1 });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: env.issuer('mail'), aud: 'tv-app', email: 'bob@example.org' });
    expect(claims.sub).toMatch(/^google:/);
    // A Baton handle wrapping the upstream's refresh token: the TV can refresh through Baton.
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(refreshed.claims()).toMatchObject({ iss: env.issuer('mail'), sub: claims.sub, aud: 'tv-app' });
  });

  it('a device code the upstream does not know is invalid_grant from the upstream', async () => {
    const res = await postForm(`${env.issuer('mail')}/token`, new URLSearchParams({ grant_type: DEVICE_CODE, device_code: 'not-a-device-code', client_id: 'tv-app' }));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid_grant' });
  });
});
