// HTTP Basic client authentication (RFC 6749 section 2.3.1) for Baton's own endpoints that answer
// confidential clients with JSON: the `explain` endpoint. Plain secrets compare in constant time;
// hashed ones go through the scrypt verifier, paid once per process per secret.
import { createHash, timingSafeEqual } from 'node:crypto';

import type { Context } from 'koa';

import type { ClientConfig } from '../config/schema.ts';
import { SecretVerifier } from '../provider/client-secret.ts';

export class BasicClientAuth {
  readonly #clients: ReadonlyMap<string, ClientConfig>;
  readonly #verifier = new SecretVerifier();

  constructor(clients: readonly ClientConfig[]) {
    this.#clients = new Map(clients.map((client) => [client.client_id, client]));
  }

  /** The authenticated client id, or undefined (missing, malformed or wrong credentials, public client). */
  async authenticate(ctx: Context): Promise<string | undefined> {
    const header = ctx.get('authorization');
    const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header);
    if (!match) return undefined;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    let clientId: string;
    let secret: string;
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
    const client = this.#clients.get(clientId);
    if (!client || client.token_endpoint_auth_method === 'none' || secret.length === 0) return undefined;
    if (client.client_secret !== undefined) return sameSecret(secret, client.client_secret) ? clientId : undefined;
    if (client.client_secret_hash !== undefined) return (await this.#verifier.verify(secret, client.client_secret_hash)) ? clientId : undefined;
    return undefined;
  }
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
