// The demo app's side of OAuth, all through openid-client 6 against Baton's discovery document:
// authorization code + PKCE, refresh, RP-initiated logout, device authorization (RFC 8628, one
// poll at a time) and token exchange (RFC 8693).
import { AsyncLocalStorage } from 'node:async_hooks';

import * as client from 'openid-client';

import { merged } from '../../lang/merged.ts';
import type { AppSession, DeviceAttempt, Tokens } from './session.ts';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface BatonClientOptions {
  readonly issuer: string;
  readonly appUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly deviceClientId: string;
  /** The API the app signs in for (resource indicator) and the scopes it asks. */
  readonly resource: string;
  readonly scope: string;
  /** What the device page asks for. */
  readonly deviceScope: string;
}

/** Where the X-Request-Id of Baton's token response is caught, per call (customFetch below). */
const tokenResponse = new AsyncLocalStorage<{ requestId?: string }>();

async function caught<T>(run: () => Promise<T>): Promise<{ result: T; requestId?: string }> {
  const slot: { requestId?: string } = {};
  const result = await tokenResponse.run(slot, run);
  return { result, ...(slot.requestId ? { requestId: slot.requestId } : {}) };
}

export class BatonClient {
  readonly #app: client.Configuration;
  readonly #device: client.Configuration;

  private constructor(readonly options: BatonClientOptions, app: client.Configuration, device: client.Configuration) {
    this.#app = app;
    this.#device = device;
  }

  /** Discovers Baton (plain http is allowed: the demo runs on localhost). */
  static async discover(options: BatonClientOptions): Promise<BatonClient> {
    const insecure = { execute: [client.allowInsecureRequests] };
    const [app, device] = await Promise.all([
      client.discovery(new URL(options.issuer), options.clientId, undefined, client.ClientSecretBasic(options.clientSecret), insecure),
      client.discovery(new URL(options.issuer), options.deviceClientId, undefined, client.None(), insecure),
    ]);
    app[client.customFetch] = async (url, init) => {
      const response = await fetch(url, init as RequestInit);
      const slot = tokenResponse.getStore();
      if (slot) slot.requestId = response.headers.get('x-request-id') ?? undefined;
      return response;
    };
    return new BatonClient(options, app, device);
  }

  /** The decision trace of one of this app's token responses (GET {issuer}/explain/{id}, HTTP Basic). */
  async explain(requestId: string): Promise<{ status: number; body: unknown }> {
    const credentials = Buffer.from(`${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`).toString('base64');
    const response = await fetch(`${this.options.issuer}/explain/${encodeURIComponent(requestId)}`, { headers: { authorization: `Basic ${credentials}`, accept: 'application/json' } });
    return { status: response.status, body: await response.json().catch(() => undefined) };
  }

  get redirectUri(): string {
    return `${this.options.appUrl}/callback`;
  }

  async authorizationUrl(session: AppSession, prompt?: string): Promise<URL> {
    const pending = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
    session.pending = pending;
    return client.buildAuthorizationUrl(this.#app, {
      redirect_uri: this.redirectUri,
      scope: this.options.scope,
      resource: this.options.resource,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      // OIDC Core section 5.5: when the user signed in, shown on the home page beside iat and exp.
      claims: JSON.stringify({ id_token: { auth_time: { essential: true } } }),
      ...(prompt ? { prompt } : {}),
    });
  }

  /** Redeems the code of the callback URL; the session's pending state, nonce and verifier must match. */
  async finishSignIn(session: AppSession, callbackUrl: URL): Promise<Tokens> {
    const pending = session.pending;
    session.pending = undefined;
    if (!pending) throw new Error('no sign-in is in progress in this browser');
    const { result, requestId } = await caught(() => client.authorizationCodeGrant(this.#app, callbackUrl, {
      pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce,
    }));
    return merged(tokensOf(result, 0), requestId ? { requestId } : {});
  }

  async refresh(tokens: Tokens): Promise<Tokens> {
    if (!tokens.refreshToken) throw new Error('no refresh token');
    const { result, requestId } = await caught(() => client.refreshTokenGrant(this.#app, tokens.refreshToken!));
    return merged(tokensOf(result, tokens.refreshes + 1, tokens), requestId ? { requestId } : {});
  }

  endSessionUrl(idToken: string): URL {
    return client.buildEndSessionUrl(this.#app, { id_token_hint: idToken, post_logout_redirect_uri: `${this.options.appUrl}/`, state: 'signed-out' });
  }

  async startDevice(): Promise<DeviceAttempt> {
    const response = await client.initiateDeviceAuthorization(this.#device, { scope: this.options.deviceScope, resource: this.options.resource });
    const now = Date.now();
    return {
      deviceCode: response.device_code,
      userCode: response.user_code,
      verificationUri: response.verification_uri,
      verificationUriComplete: response.verification_uri_complete,
      expiresAt: now + response.expires_in * 1000,
      interval: response.interval ?? 5,
      nextPollAt: now + (response.interval ?? 5) * 1000,
      status: 'pending',
      message: 'Waiting for you to enter the code at Baton.',
    };
  }

  /** Polls Baton's token endpoint once, when the interval allows (RFC 8628 section 3.4/3.5). */
  async pollDevice(device: DeviceAttempt): Promise<void> {
    const now = Date.now();
    if (device.status !== 'pending' || now < device.nextPollAt) return;
    if (now > device.expiresAt) {
      Object.assign(device, { status: 'expired', message: 'The code expired. Start again.' });
      return;
    }
    try {
      const response = await client.genericGrantRequest(this.#device, DEVICE_CODE, { device_code: device.deviceCode });
      Object.assign(device, { status: 'approved', message: 'Approved: the device received its tokens.', accessToken: response.access_token, idToken: response.id_token });
    } catch (err) {
      const error = (err as { error?: string }).error;
      if (error === 'slow_down') device.interval += 5;
      if (error === 'access_denied') Object.assign(device, { status: 'denied', message: 'The sign-in was cancelled on Baton\'s page.' });
      else if (error === 'expired_token') Object.assign(device, { status: 'expired', message: 'The code expired. Start again.' });
      else if (error !== 'authorization_pending' && error !== 'slow_down') Object.assign(device, { status: 'failed', message: `Baton answered ${error ?? 'an error'}.` });
    }
    device.nextPollAt = Date.now() + device.interval * 1000;
  }

  /** RFC 8693: the user's access token as subject token, for another resource. */
  async exchange(subjectToken: string, resource: string, scope: string) {
    return client.genericGrantRequest(this.#app, TOKEN_EXCHANGE, {
      subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, resource, scope,
    });
  }
}

function tokensOf(response: client.TokenEndpointResponse, refreshes: number, previous?: Tokens): Tokens {
  const idToken = response.id_token ?? previous?.idToken;
  if (!idToken) throw new Error('Baton returned no id_token');
  return {
    idToken,
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    scope: response.scope,
    obtainedAt: Date.now(),
    refreshes,
  };
}
