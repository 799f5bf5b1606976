// Client authentication on the lean token path (http/lean-token.ts): client_secret_basic,
// client_secret_post and none exactly as oidc-provider reads them (client_auth.js), against the provider's own
// client records and secret comparison. Undefined wherever the provider could answer anything but
// success, so that request goes to the full pipeline, which gives the error.
import type { IncomingHttpHeaders } from 'node:http';

import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { isSecretHash, type SecretVerifier } from '../provider/client-secret.ts';

export type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;

/** oidc-provider's check of decoded Basic credentials (RFC 6749 appendix A.1/A.2: VSCHAR). */
const NOT_VSCHAR = /[^\x20-\x7E]/;

/**
 * The client authenticated by `headers` and `params`, allowed `grantType`; a hashed secret is compared
 * only if it verified before (else the full pipeline runs scrypt, once, not twice on a wrong secret).
 */
export function leanClientAuth(provider: Provider, secrets: SecretVerifier) {
  /** RFC 6749 section 2.3.1, as oidc-provider reads it; undefined when it would not accept it. */
  function basicCredentials(header: string): { id: string; secret: string } | undefined {
    const parts = header.split(' ');
    if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'basic' || !isValidBase64(parts[1]!)) return undefined;
    const basic = Buffer.from(parts[1]!, 'base64').toString('utf8');
    const i = basic.indexOf(':');
    if (i === -1) return undefined;
    try {
      const id = decodeAuthToken(basic.slice(0, i));
      const secret = decodeAuthToken(basic.slice(i + 1));
      return id && secret ? { id, secret } : undefined;
    } catch {
      return undefined;
    }
  }

  /** The authenticated client, or undefined wherever the provider could answer anything but success. */
  return async function authenticate(headers: IncomingHttpHeaders, params: Readonly<Record<string, string>>, grantType: string): Promise<Client | undefined> {
    let id = params.client_id;
    let secret = params.client_secret;
    if (headers.authorization !== undefined) {
      if (secret !== undefined) return undefined;
      const basic = basicCredentials(headers.authorization);
      if (!basic || (id !== undefined && id !== basic.id)) return undefined;
      ({ id, secret } = basic);
    }
    if (id === undefined) return undefined;
    const client = await provider.Client.find(id);
    // No credentials but the client_id: a public client (`none`, RFC 6749 section 2.1), nothing to verify.
    if (secret === undefined) return client?.clientAuthMethod === 'none' && client.grantTypeAllowed(grantType) ? client : undefined;
    if (!client || (client.clientAuthMethod !== 'client_secret_basic' && client.clientAuthMethod !== 'client_secret_post')) return undefined;
    const stored = (client as { clientSecret?: string }).clientSecret;
    // A hash not verified before costs scrypt: the full pipeline verifies it (once, not twice on a wrong secret).
    if (isSecretHash(stored) && !secrets.known(secret, stored)) return undefined;
    try {
      (client as unknown as { checkClientSecretExpiration(message: string): void }).checkClientSecretExpiration('expired');
    } catch {
      return undefined;
    }
    if (!(await client.compareClientSecret(secret))) return undefined;
    return client.grantTypeAllowed(grantType) ? client : undefined;
  };
}

function isValidBase64(input: string): boolean {
  const match = /^([A-Za-z0-9+/]*)(={0,2})$/u.exec(input);
  if (!match?.[1]) return false;
  const remainder = match[1].length % 4;
  if (!match[2]) return remainder !== 1;
  return (match[1].length + match[2].length) % 4 === 0 && match[2].length === 4 - remainder;
}

function decodeAuthToken(token: string): string {
  const decoded = decodeURIComponent(token.replace(/\+/g, '%20'));
  if (NOT_VSCHAR.test(decoded)) throw new Error('invalid character found');
  return decoded;
}
