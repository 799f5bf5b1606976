// The upstream's discovery document for a passthrough issuer: fetched, cached, refreshed in the
// background every `discoveryRefresh`, and the last good copy served when a refresh fails (503
// only when there never was one). Rewritten (OpenID Connect Discovery 1.0 section 3) so that what
// Baton now answers points at Baton, what stays at the upstream (the browser legs) stays there.
import { merged } from '../lang/merged.ts';
import type { Logger } from '../observability/logger.ts';
import { DEVICE_CODE, isLoopbackHost } from '../config/schema.ts';
import { unavailable } from './errors.ts';

/** Baton's endpoints under the passthrough issuer. */
export const ENDPOINTS = { token_endpoint: '/token', jwks_uri: '/jwks', userinfo_endpoint: '/userinfo', revocation_endpoint: '/revoke' } as const;

/** What Baton does differently from the upstream; each replaces the upstream's value. */
export interface BatonCapabilities {
  readonly issuer: string;
  /** The algorithm Baton signs this passthrough's id_tokens with. */
  readonly idTokenSigningAlg: string;
}

/**
 * Fields that describe something Baton now answers in a way it does not support (encrypted or
 * signed userinfo, encrypted id_tokens, JWT client assertions it cannot forward, DPoP, mTLS,
 * introspection of tokens the upstream never issued): dropped rather than advertised falsely.
 */
const NOT_OFFERED = [
  'introspection_endpoint', 'introspection_endpoint_auth_methods_supported', 'introspection_endpoint_auth_signing_alg_values_supported',
  'id_token_encryption_alg_values_supported', 'id_token_encryption_enc_values_supported',
  'userinfo_signing_alg_values_supported', 'userinfo_encryption_alg_values_supported', 'userinfo_encryption_enc_values_supported',
  'token_endpoint_auth_signing_alg_values_supported', 'revocation_endpoint_auth_signing_alg_values_supported',
  'dpop_signing_alg_values_supported', 'mtls_endpoint_aliases', 'tls_client_certificate_bound_access_tokens',
];
const FORWARDABLE_AUTH = ['client_secret_basic', 'client_secret_post', 'none'];
const GRANTS = ['authorization_code', 'refresh_token'];

/** The upstream document with Baton's endpoints, grants, auth methods and signing algorithm; everything else as is. */
export function rewriteDiscovery(upstream: Readonly<Record<string, unknown>>, baton: BatonCapabilities): Record<string, unknown> {
  const doc: Record<string, unknown> = merged(upstream, { issuer: baton.issuer });
  for (const field of NOT_OFFERED) delete doc[field];
  for (const [field, path] of Object.entries(ENDPOINTS)) doc[field] = `${baton.issuer}${path}`;
  doc.id_token_signing_alg_values_supported = [baton.idTokenSigningAlg];
  // Baton's `sub` is its own stable subject, the same for every app.
  doc.subject_types_supported = ['public'];
  // Only what Baton's token endpoint relays; the device grant when the upstream has a device endpoint.
  const grants = typeof upstream.device_authorization_endpoint === 'string' ? [...GRANTS, DEVICE_CODE] : GRANTS;
  doc.grant_types_supported = intersect(upstream.grant_types_supported, grants) ?? grants;
  // A JWT assertion names the upstream as its audience and could not be forwarded; secrets can.
  doc.token_endpoint_auth_methods_supported = intersect(upstream.token_endpoint_auth_methods_supported, FORWARDABLE_AUTH) ?? ['client_secret_basic'];
  doc.revocation_endpoint_auth_methods_supported = doc.token_endpoint_auth_methods_supported;
  // RFC 9207: the authorization response comes from the upstream, whose `iss` is not this issuer;
  // advertising support would make clients demand an `iss` only the upstream can send.
  doc.authorization_response_iss_parameter_supported = false;
  return doc;
}

function intersect(list: unknown, supported: readonly string[]): string[] | undefined {
  return Array.isArray(list) ? list.filter((v): v is string => typeof v === 'string' && supported.includes(v)) : undefined;
}

export interface DiscoverySource {
  readonly url: string;
  /** The `issuer` the document must carry (possibly Entra's `{tenantid}` template). */
  readonly issuer: string;
  readonly timeoutMs: number;
  readonly refreshMs: number;
}

/** Minimum wait before trying again after a failed refresh. */
const RETRY_MS = 10_000;

export class UpstreamDiscovery {
  readonly #source: DiscoverySource;
  readonly #logger: Logger;
  readonly #clock: () => number;
  #last?: { readonly doc: Readonly<Record<string, unknown>>; readonly at: number };
  #nextAttempt = 0;
  #inflight?: Promise<Readonly<Record<string, unknown>>>;

  constructor(source: DiscoverySource, logger: Logger, clock: () => number = Date.now) {
    this.#source = source;
    this.#logger = logger;
    this.#clock = clock;
  }

  /** The document; a stale one is returned at once while a refresh runs. Throws a 503 PassthroughError when none was ever fetched. */
  async get(): Promise<Readonly<Record<string, unknown>>> {
    const now = this.#clock();
    const due = !this.#last || now - this.#last.at >= this.#source.refreshMs;
    if (due && now >= this.#nextAttempt) this.#inflight ??= this.#refresh().finally(() => { this.#inflight = undefined; });
    if (this.#last) return this.#last.doc;
    try {
      return await (this.#inflight ?? Promise.reject(new Error('waiting before the next attempt')));
    } catch {
      throw unavailable('the upstream discovery document is not available; try again later');
    }
  }

  async #refresh(): Promise<Readonly<Record<string, unknown>>> {
    try {
      const doc = await this.#fetch();
      this.#last = { doc, at: this.#clock() };
      return doc;
    } catch (err) {
      this.#nextAttempt = this.#clock() + Math.min(RETRY_MS, this.#source.refreshMs);
      this.#logger.warn({ event: 'passthrough.discovery_failed', url: this.#source.url, reason: (err as Error).message, stale: this.#last !== undefined }, 'upstream discovery failed');
      if (this.#last) return this.#last.doc;
      throw err;
    }
  }

  async #fetch(): Promise<Readonly<Record<string, unknown>>> {
    const response = await fetch(this.#source.url, { signal: AbortSignal.timeout(this.#source.timeoutMs), headers: { accept: 'application/json' }, redirect: 'manual' });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    const doc = (await response.json()) as unknown;
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
    const metadata = doc as Record<string, unknown>;
    if (metadata.issuer !== this.#source.issuer) throw new Error('the document names another issuer');
    for (const field of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
      if (typeof metadata[field] !== 'string' || !secure(metadata[field])) throw new Error(`${field} is missing or not https`);
    }
    return metadata;
  }
}

/** Secrets and codes are forwarded there: https, or http on this machine only. */
export function secure(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  } catch {
    return false;
  }
}
