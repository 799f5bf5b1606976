// The access tokens the proxy attaches. The user's: one per resource, obtained by refreshing with
// `resource` (RFC 8707 section 2.2) so each API gets only its own audience and scopes, refreshed
// before expiry, single flight per session in this process (other instances meet the refresh
// token's reuse grace). The client's: client_credentials for the resource, cached until near expiry.
import * as client from 'openid-client';

import type { BffDeps, BffEntry } from './entries.ts';
import { BffError, unauthenticated } from './errors.ts';
import type { BffSession, SessionTokens } from './sessions.ts';

/** An access token this close to expiry (seconds, at most a quarter of its lifetime) is refreshed before use. */
const EARLY = 30;

/** When a token issued now for `lifetime` seconds is due for refresh. */
function refreshAt(now: number, lifetime: number): number {
  return now + lifetime - Math.min(EARLY, Math.floor(lifetime / 4));
}

export class TokenSource {
  readonly #inFlight = new Map<string, Promise<string>>();
  readonly #clientTokens = new Map<string, { token: string; refreshAt: number }>();

  constructor(private readonly deps: BffDeps) {}

  private now(): number {
    return Math.floor(this.deps.clock() / 1000);
  }

  /** The user's access token for `resource`; `force` refreshes even a fresh one (after an API's 401). */
  async user(entry: BffEntry, session: BffSession, resource: string, force = false): Promise<string> {
    const cached = session.tokens.accessTokens[resource];
    if (!force && cached && cached.refreshAt > this.now()) return cached.token;
    const key = `${session.key}\n${resource}`;
    let flight = this.#inFlight.get(key);
    if (!flight) {
      flight = this.refresh(entry, session, resource).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, flight);
    }
    return flight;
  }

  private async refresh(entry: BffEntry, session: BffSession, resource: string): Promise<string> {
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
    const tokens: SessionTokens = {
      refreshToken: response.refresh_token ?? session.tokens.refreshToken,
      accessTokens: { ...session.tokens.accessTokens, [resource]: { token: response.access_token, exp: this.now() + (response.expires_in ?? 60), refreshAt: refreshAt(this.now(), response.expires_in ?? 60) } },
    };
    // A lost compare-and-set means another request of this session wrote first; the token is still good.
    if (await this.deps.sessions.saveTokens(session, tokens, entry.config.session)) {
      Object.assign(session, { tokens, version: session.version + 1 });
    }
    return response.access_token;
  }

  /** A client_credentials token of the BFF's own client for `resource`. */
  async client(entry: BffEntry, resource: string): Promise<string> {
    const key = `${entry.config.id}\n${resource}`;
    const cached = this.#clientTokens.get(key);
    if (cached && cached.refreshAt > this.now()) return cached.token;
    const registered = this.deps.config.clients.find((c) => c.client_id === entry.config.clientId);
    const scopes = registered?.resources.find((r) => r.id === resource)?.scopes ?? this.deps.config.resources.find((r) => r.id === resource)?.scopes ?? [];
    let response: client.TokenEndpointResponse;
    try {
      response = await client.clientCredentialsGrant(await entry.rp(), { resource, ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}) });
    } catch (err) {
      throw refused(err, this.deps, entry.config.id);
    }
    this.#clientTokens.set(key, { token: response.access_token, refreshAt: refreshAt(this.now(), response.expires_in ?? 60) });
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
