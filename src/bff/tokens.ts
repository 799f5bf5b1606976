// The access tokens the proxy attaches. The user's: one per resource, obtained by refreshing with
// `resource` (RFC 8707 section 2.2) so each API gets only its own audience and scopes, refreshed
// before expiry, single flight per session in this process (other instances meet the refresh
// token's reuse grace). The client's: client_credentials for the resource, cached until near expiry.
import * as client from 'openid-client';

import { clientConfig } from '../config/clients.ts';
import { merged } from '../lang/merged.ts';
import type { BffDeps, BffEntry } from './entries.ts';
import { BffError, unauthenticated } from './errors.ts';
import type { BffSession, SessionTokens } from './sessions.ts';

/** An access token this close to expiry (seconds, at most a quarter of its lifetime) is refreshed before use. */
const EARLY = 30;

/** The access token of a token response, with when it expires and when it is due for refresh. */
export function issuedAccessToken(response: client.TokenEndpointResponse, now: number): AccessToken {
  const lifetime = response.expires_in ?? 60;
  return { token: response.access_token, exp: now + lifetime, refreshAt: now + lifetime - Math.min(EARLY, Math.floor(lifetime / 4)) };
}

export interface AccessToken {
  readonly token: string;
  /** Epoch seconds. */
  readonly exp: number;
  /** When it is refreshed before use (epoch seconds). */
  readonly refreshAt: number;
}

export class TokenSource {
  readonly #inFlight = new Map<string, Promise<AccessToken>>();
  readonly #clientTokens = new Map<string, { token: string; refreshAt: number }>();

  constructor(private readonly deps: BffDeps) {}

  private now(): number {
    return Math.floor(this.deps.clock() / 1000);
  }

  /**
   * The user's access token for `resource`, with its expiry; `rejected` (a token the API just refused)
   * is never answered again. One refresh at a time per session in this instance: a request that
   * waited for another's refresh reads the rotated refresh token (and perhaps its own access token)
   * back from the store.
   */
  async user(entry: BffEntry, session: BffSession, resource: string, rejected?: string): Promise<AccessToken> {
    let current = rejected === undefined ? session : await this.reload(session);
    for (let running = this.#inFlight.get(current.key); running; running = this.#inFlight.get(current.key)) {
      await running.catch(() => undefined);
      current = await this.reload(current);
    }
    const cached = current.tokens.accessTokens[resource];
    if (cached && cached.refreshAt > this.now() && cached.token !== rejected) return cached;
    const flight = this.refresh(entry, current, resource).finally(() => this.#inFlight.delete(current.key));
    this.#inFlight.set(current.key, flight);
    return flight;
  }

  private async reload(session: BffSession): Promise<BffSession> {
    const reloaded = await this.deps.sessions.reload(session);
    if (!reloaded) throw unauthenticated('the session has ended');
    return reloaded;
  }

  private async refresh(entry: BffEntry, session: BffSession, resource: string): Promise<AccessToken> {
    const rp = await entry.rp();
    let response: client.TokenEndpointResponse;
    try {
      response = await client.refreshTokenGrant(rp, session.tokens.refreshToken, { resource });
    } catch (err) {
      if ((err as { error?: string }).error === 'invalid_grant') {
        // The refresh token died (revoked, expired, reuse): so does the session (RFC 10017 section 6.1.3.2).
        await this.deps.sessions.end(session.key);
        throw unauthenticated('the session has ended');
      }
      throw refused(err, this.deps, entry.config.id);
    }
    const issued = issuedAccessToken(response, this.now());
    const tokens: SessionTokens = { refreshToken: response.refresh_token ?? session.tokens.refreshToken, accessTokens: merged(session.tokens.accessTokens, { [resource]: issued }) };
    // A lost compare-and-set means another instance refreshed this session meanwhile (its grace
    // replay gave both the same successor); the access token is good either way.
    await this.deps.sessions.saveTokens(session, tokens, entry.config.session);
    return issued;
  }

  /** A client_credentials token of the BFF's own client for `resource`. */
  async client(entry: BffEntry, resource: string): Promise<string> {
    const key = `${entry.config.id}\n${resource}`;
    const cached = this.#clientTokens.get(key);
    if (cached && cached.refreshAt > this.now()) return cached.token;
    const registered = clientConfig(this.deps.config, entry.config.client_id);
    const scopes = registered?.resources.find((r) => r.id === resource)?.scopes ?? this.deps.config.resources.find((r) => r.id === resource)?.scopes ?? [];
    let response: client.TokenEndpointResponse;
    try {
      response = await client.clientCredentialsGrant(await entry.rp(), { resource, ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}) });
    } catch (err) {
      throw refused(err, this.deps, entry.config.id);
    }
    this.#clientTokens.set(key, issuedAccessToken(response, this.now()));
    return response.access_token;
  }
}

/** OAuth errors that mean "not for this API" (orchestration decided so) rather than "try again". */
const DENIALS = new Set(['invalid_target', 'invalid_scope', 'access_denied', 'unauthorized_client']);

/** A token request that failed for another reason than a dead refresh token, as the SPA sees it. */
function refused(err: unknown, deps: BffDeps, bff: string): BffError {
  const error = (err as { error?: string }).error;
  if (error && DENIALS.has(error)) return new BffError(403, 'access_denied', 'access to this API was not granted');
  deps.logger.warn({ err: { name: (err as Error).name, code: (err as { code?: string }).code, error }, bff }, 'BFF: no access token could be obtained');
  return new BffError(503, 'temporarily_unavailable', 'no access token could be obtained for this API; try again', { 'Retry-After': '5' });
}
