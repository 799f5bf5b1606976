// One BFF entry at runtime: its configuration, its cookies, and a relying party (openid-client) for
// its confidential client at Baton's own issuer. The client secret stays in this process.
import * as client from 'openid-client';

import { clientConfig } from '../config/clients.ts';
import { bffCallbackUrl, type BffConfig } from '../config/bff.ts';
import type { BatonConfig } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Clock, Store } from '../storage/store.ts';
import { cookieJar, type CookieJar } from './cookie.ts';
import type { BffSessions } from './sessions.ts';

export interface BffDeps {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly sessions: BffSessions;
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface BffEntry {
  readonly config: BffConfig;
  readonly cookies: CookieJar;
  readonly redirectUri: string;
  /** `{issuer}/bff/{id}` */
  readonly base: string;
  /** The relying party at Baton's issuer (discovered once, again after a failure). */
  rp(): Promise<client.Configuration>;
}

export interface Bffs {
  readonly deps: BffDeps;
  readonly entries: ReadonlyMap<string, BffEntry>;
}

export function createBffs(deps: BffDeps): Bffs {
  const entries = new Map<string, BffEntry>();
  for (const entry of deps.config.bff) {
    const registered = clientConfig(deps.config, entry.client_id);
    const secret = registered?.client_secret;
    if (!registered || secret === undefined) throw new Error(`bff ${entry.id}: client ${entry.client_id} has no client_secret`);
    const auth = registered.token_endpoint_auth_method === 'client_secret_post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
    let discovered: Promise<client.Configuration> | undefined;
    const rp = () => {
      discovered ??= discoverIssuer(deps.config.issuer, entry.client_id, auth).catch((err: unknown) => {
        discovered = undefined;
        throw err;
      });
      return discovered;
    };
    entries.set(entry.id, { config: entry, cookies: cookieJar(deps.config.issuer, entry.id, entry.session.sameSite), redirectUri: bffCallbackUrl(deps.config.issuer, entry.id), base: `${deps.config.issuer}/bff/${entry.id}`, rp });
  }
  return { deps, entries };
}

/** Discovery at Baton's own issuer; plain http only where the schema allows it (localhost). */
async function discoverIssuer(issuer: string, clientId: string, auth: client.ClientAuth): Promise<client.Configuration> {
  const insecure = new URL(issuer).protocol === 'http:';
  return client.discovery(new URL(issuer), clientId, undefined, auth, insecure ? { execute: [client.allowInsecureRequests] } : undefined);
}
