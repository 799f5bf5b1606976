// Entra ID's multi-tenant issuer `https://login.microsoftonline.com/{tenantid}/v2.0`: which tenant a
// token or callback names, whether it may sign in, and the concrete issuer to check it against.
import { decodeJwt } from 'jose';

import { UpstreamError } from './connector.ts';

const TENANT = '{tenantid}';
const TENANT_ID = /^[A-Za-z0-9-]{1,64}$/;

export class IssuerTemplate {
  readonly #template: string | undefined;
  readonly #tenants: readonly string[] | undefined;

  /** `issuer` may be a plain issuer (then nothing here applies) or a `{tenantid}` template. */
  constructor(issuer: string | undefined, tenants: readonly string[] | undefined) {
    this.#template = issuer?.includes(TENANT) ? issuer : undefined;
    this.#tenants = tenants;
  }

  get isTemplate(): boolean {
    return this.#template !== undefined;
  }

  /** Whether `iss` is `issuer` itself or, for a template, one of its tenants' issuers (tenant lists aside). */
  static names(issuer: string | undefined, iss: string | undefined): boolean {
    if (!issuer || !iss) return false;
    return issuer.includes(TENANT) ? tenantIn(issuer, iss) !== undefined : issuer === iss;
  }

  /** The template with a placeholder tenant, for URL checks. */
  static sample(issuer: string | undefined): string | undefined {
    return issuer?.replace(TENANT, 'tenant');
  }

  /** The concrete issuer of tenant `tid`; a tenant outside `tenants` is not allowed to sign in. */
  issuerFor(tid: string): string {
    if (this.#tenants && !this.#tenants.includes(tid)) throw new UpstreamError('not_allowed', 'this organization (tenant) is not allowed to sign in here');
    return this.#template!.replace(TENANT, tid);
  }

  /** The issuer named by the (not yet verified) `tid` of an id_token; verification then checks it. */
  issuerOfToken(idToken: string): string {
    let tid: unknown;
    try {
      ({ tid } = decodeJwt(idToken));
    } catch {
      throw new UpstreamError('invalid_response', 'the id_token is malformed');
    }
    if (typeof tid !== 'string' || !TENANT_ID.test(tid)) throw new UpstreamError('invalid_response', 'the id_token has no valid tid');
    return this.issuerFor(tid);
  }

  /** RFC 9207: the issuer named by a callback's `iss`, which must be one of this template's. */
  issuerOfCallback(iss: string): string {
    const tid = tenantIn(this.#template!, iss);
    if (tid === undefined) throw new UpstreamError('invalid_response', 'the callback iss is not an issuer of this upstream');
    return this.issuerFor(tid);
  }

  /** After signature validation: the token's `tid` must be the tenant of the issuer it was checked against. */
  matches(issuer: string, claims: Readonly<Record<string, unknown>>): boolean {
    return !this.isTemplate || issuer === this.#template!.replace(TENANT, String(claims.tid));
  }
}

/** The tenant id `iss` names in `template`, when it is one of the template's issuers. */
function tenantIn(template: string, iss: string): string | undefined {
  const [prefix, suffix] = template.split(TENANT) as [string, string];
  if (!iss.startsWith(prefix) || !iss.endsWith(suffix) || iss.length < prefix.length + suffix.length) return undefined;
  const tid = iss.slice(prefix.length, iss.length - suffix.length);
  return TENANT_ID.test(tid) ? tid : undefined;
}
