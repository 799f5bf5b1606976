// Drives a real browser through Baton's authorization endpoint as an app would, and redeems the
// code with openid-client.
import * as client from 'openid-client';
import type { Page } from 'playwright-core';

import type { RedirectTarget } from './browser.ts';
import { discover } from './rp.ts';

export interface StartedAuthorization {
  readonly rp: client.Configuration;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
}

export async function openAuthorize(page: Page, issuer: string, app: RedirectTarget, clientId: string, secret: string, extra: Record<string, string> = {}): Promise<StartedAuthorization> {
  const rp = await discover(issuer, clientId, secret);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: app.redirectUri,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  await page.goto(url.href);
  return { rp, verifier, state, nonce };
}

export async function backAtApp(page: Page, app: RedirectTarget): Promise<URL> {
  try {
    await page.waitForURL((url) => url.href.startsWith(app.redirectUri), { timeout: 15_000 });
  } catch (err) {
    throw new Error(`never got back to the app; stuck at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 500)}`, { cause: err });
  }
  return new URL(page.url());
}

export function redeem(started: StartedAuthorization, callback: URL) {
  return client.authorizationCodeGrant(started.rp, callback, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
}
