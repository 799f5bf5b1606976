// The explain tests' bed: a real upstream OP (generic), a real HTTP authorizer, a real hook module,
// and Baton on SQLite (so `baton preview` / `baton replay`, run as processes, read the key set and
// the traces Baton stored). The configuration is one object, written as a file for the CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { decodeJwt } from 'jose';

import { PER_TOKEN_CLAIMS } from '../../src/explain/trace.ts';
import { runCli } from '../helpers/baton-cli.ts';
import { freePort, scratchDir, startBaton, TEST_ENV, TEST_MASTER_SECRET, type RunningBaton } from '../helpers/baton.ts';
import { startRedirectTarget, type RedirectTarget } from '../helpers/browser.ts';
import { signInForTokens, type TokenResponse } from '../helpers/http-sign-in.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { startOrdersAuthorizer, type OrdersAuthorizer } from './fixtures/orders-authorizer.ts';

export const API = 'https://orders.api.example';
export const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';
export const HOOKS = fileURLToPath(new URL('./fixtures/explain-hooks.mjs', import.meta.url));
export const SCOPE = 'openid email profile orders:read orders:write';
export const USERS = {
  alice: { username: 'alice', password: 'alice-pw', claims: { email: 'alice@example.org', email_verified: true, name: 'Alice Buyer' } },
  bob: { username: 'bob', password: 'bob-pw', claims: { email: 'bob@example.org', email_verified: true, name: 'Bob Seller' } },
  blocked: { username: 'blocked', password: 'blocked-pw', claims: { email: 'blocked@example.org', email_verified: true, name: 'Blocked' } },
  /** Outside the rules' domain: the web client refuses her sign-in. */
  outsider: { username: 'outsider', password: 'outsider-pw', claims: { email: 'olga@elsewhere.example', email_verified: true, name: 'Olga Outsider' } },
} as const;

export interface Bed {
  readonly baton: RunningBaton;
  readonly idp: Upstream;
  readonly authorizer: OrdersAuthorizer;
  readonly app: RedirectTarget;
  readonly dir: string;
  /** Baton's configuration as written to `configFile` (secrets inline). */
  readonly raw: Record<string, unknown>;
  readonly configFile: string;
  /** Writes a variant of the configuration (e.g. a replay candidate); returns its path. */
  writeConfig(name: string, change: (raw: Record<string, unknown>) => Record<string, unknown>): string;
  signIn(user: keyof typeof USERS, scope?: string): Promise<TokenResponse>;
  stop(): Promise<void>;
}

/** `extra`: top-level configuration merged in (e.g. `explain`, to record real traces). */
export async function startBed(extra: Record<string, unknown> = {}): Promise<Bed> {
  const scratch = scratchDir('baton-explain-');
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const [app, authorizer] = await Promise.all([startRedirectTarget(), startOrdersAuthorizer(issuer, ['alice@example.org'])]);
  const idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: UPSTREAM_SECRET, redirect_uris: [`${issuer}/callback/corp`] }],
    users: Object.values(USERS).map((u) => ({ ...u, claims: { ...u.claims } })),
  });
  const raw: Record<string, unknown> = {
    issuer,
    server: { host: '127.0.0.1', port, shutdownGracePeriod: 1 },
    storage: { type: 'sqlite', path: join(scratch.path, 'baton.db') },
    keys: { masterSecret: TEST_MASTER_SECRET },
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: UPSTREAM_SECRET }],
    resources: [{ id: API, scopes: ['orders:read', 'orders:write', 'catalog:read'] }],
    authorizers: [{ id: 'orders', url: authorizer.url, namespace: 'orders:', cacheTTL: 0 }],
    clients: [
      {
        client_id: 'web', client_secret: TEST_ENV.WEB_SECRET, redirect_uris: [app.redirectUri], resources: [{ id: API }],
        hooks: { module: HOOKS }, rules: [{ allow: { emailDomain: ['example.org'] } }],
      },
      { client_id: 'service', client_secret: TEST_ENV.SERVICE_SECRET, grant_types: ['client_credentials'], resources: [{ id: API }], hooks: { module: HOOKS } },
    ],
    ...extra,
  };
  const writeConfig = (name: string, change: (r: Record<string, unknown>) => Record<string, unknown>) => {
    const file = join(scratch.path, `${name}.yaml`);
    // JSON is YAML: the file says exactly what the object says.
    writeFileSync(file, JSON.stringify(change(structuredClone(raw)), null, 2));
    return file;
  };
  const configFile = writeConfig('baton', (r) => r);
  const baton = await startBaton(raw, { port });
  return {
    baton, idp, authorizer, app, dir: scratch.path, raw, configFile, writeConfig,
    signIn: (user, scope = SCOPE) => signInForTokens({ issuer, clientId: 'web', secret: TEST_ENV.WEB_SECRET, redirectUri: app.redirectUri, scope, resource: API }, USERS[user].username, USERS[user].password),
    async stop() {
      await baton.stop();
      await Promise.all([idp.stop(), authorizer.stop(), app.stop()]);
      scratch.remove();
    },
  };
}

/** A JWT's claims without those that differ for every token (what preview and replay never compare). */
export function decisionClaims(jwt: string): Record<string, unknown> {
  return withoutPerToken(decodeJwt(jwt));
}

export function withoutPerToken(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !PER_TOKEN_CLAIMS.has(name)));
}

/** `baton replay ARGS` as a process: its exit status and output. */
export async function runReplay(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const cli = runCli(['replay', ...args]);
  const status = await cli.exited;
  return { status, stdout: cli.stdout(), stderr: cli.stderr() };
}
