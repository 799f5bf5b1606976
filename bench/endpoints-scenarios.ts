// The workloads of bench/endpoints.ts: for each endpoint, the request (fixed, or one body per
// request from a pool of one-time artifacts), how a server gets ready for it (a token to introspect,
// a userinfo access token) and the check its first answer must pass before any load.
import { randomUUID } from 'node:crypto';

import { SignJWT, type CryptoKey } from 'jose';

import {
  ACCOUNT_ID, FORM_HEADERS, JWT_TOKEN_TYPE, OPAQUE_RESOURCE, PARTNER, PARTNER_AUDIENCE, REQUESTED_SCOPE, RESOURCE, TOKEN_EXCHANGE, type BenchRequest, type PoolKind,
} from './endpoints-fixture.ts';

/** A server as the scenarios see it: its URL and a way to have it seed one-time artifacts (bodies). */
export interface Target {
  readonly url: string;
  prepare(kind: PoolKind | 'userinfo-code', count: number): Promise<string[]>;
}

export interface Scenario {
  /** Selects it: `npm run bench -- code`. */
  readonly name: string;
  readonly label: string;
  /** Where each request's body comes from when it is one-time: seeded by the server, or signed here. */
  readonly pool?: PoolKind | 'exchange';
  /** First guess of requests per second, to size the first pool (later ones follow the rate seen). */
  readonly guess?: number;
  /** The request, once the server is ready for it (pooled scenarios: without a body). */
  request(target: Target): Promise<BenchRequest>;
  /** Why the answer to the check request is not what this workload must measure, or undefined. */
  check(status: number, body: string, target: Target): string | undefined;
}

const json = (body: string): Record<string, unknown> => {
  try { return JSON.parse(body) as Record<string, unknown>; } catch { return {}; }
};

const jwtHeader = (token: unknown): Record<string, unknown> | undefined => {
  try { return JSON.parse(Buffer.from(String(token).split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>; } catch { return undefined; }
};

const TOKEN: BenchRequest = { method: 'POST', path: '/token', headers: { ...FORM_HEADERS } };

async function postForm(url: string, path: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch(url + path, { method: 'POST', headers: FORM_HEADERS, body: new URLSearchParams(form).toString() });
  const body = json(await response.text());
  if (response.status !== 200) throw new Error(`POST ${path} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/** id_token, an ES256 at+jwt and a refresh token: what code redemption and refresh must answer. */
function userTokens(status: number, text: string): string | undefined {
  const body = json(text);
  if (status !== 200) return `answered ${status}: ${text.slice(0, 300)}`;
  if (typeof body.id_token !== 'string' || typeof body.refresh_token !== 'string') return `no id_token or refresh_token in ${Object.keys(body).join(', ')}`;
  const header = jwtHeader(body.access_token);
  if (header?.typ !== 'at+jwt' || header.alg !== 'ES256') return `access token is not an ES256 at+jwt: ${JSON.stringify(header)}`;
  return undefined;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'discovery', label: 'discovery (GET /.well-known/openid-configuration)',
    request: async () => ({ method: 'GET', path: '/.well-known/openid-configuration', headers: { accept: 'application/json' } }),
    check: (status, body, target) => (status === 200 && json(body).issuer === target.url ? undefined : `answered ${status} with issuer ${String(json(body).issuer)}`),
  },
  {
    name: 'jwks', label: 'JWKS (GET /jwks)',
    request: async () => ({ method: 'GET', path: '/jwks', headers: { accept: 'application/json' } }),
    check: (status, body) => (status === 200 && Array.isArray(json(body).keys) && (json(body).keys as unknown[]).length > 0 ? undefined : `answered ${status}: ${body.slice(0, 200)}`),
  },
  {
    name: 'introspection', label: 'introspection of an opaque access token (client_secret_basic)',
    async request(target) {
      const issued = await postForm(target.url, '/token', { grant_type: 'client_credentials', resource: OPAQUE_RESOURCE, scope: REQUESTED_SCOPE });
      return { method: 'POST', path: '/introspect', headers: { ...FORM_HEADERS }, body: new URLSearchParams({ token: String(issued.access_token) }).toString() };
    },
    check: (status, body) => (status === 200 && json(body).active === true ? undefined : `answered ${status}: ${body.slice(0, 200)}`),
  },
  {
    name: 'userinfo', label: 'userinfo (GET, opaque access token of a user)',
    async request(target) {
      const [code] = await target.prepare('userinfo-code', 1);
      const issued = await postForm(target.url, '/token', Object.fromEntries(new URLSearchParams(code!)));
      return { method: 'GET', path: '/userinfo', headers: { authorization: `Bearer ${String(issued.access_token)}`, accept: 'application/json' } };
    },
    check: (status, body) => (status === 200 && json(body).sub === ACCOUNT_ID && json(body).email ? undefined : `answered ${status}: ${body.slice(0, 200)}`),
  },
  {
    name: 'code', label: 'authorization code -> id_token + JWT access token + refresh token', pool: 'code', guess: 600,
    request: async () => TOKEN,
    check: userTokens,
  },
  {
    name: 'refresh', label: 'refresh_token (rotated) -> id_token + JWT access token + refresh token', pool: 'refresh', guess: 600,
    request: async () => TOKEN,
    check: userTokens,
  },
  {
    name: 'token_exchange', label: 'token exchange (RFC 8693): partner JWT -> JWT access token', pool: 'exchange', guess: 1200,
    request: async () => TOKEN,
    check(status, text) {
      const body = json(text);
      if (status !== 200) return `answered ${status}: ${text.slice(0, 300)}`;
      const header = jwtHeader(body.access_token);
      return header?.typ === 'at+jwt' && header.alg === 'ES256' ? undefined : `access token is not an ES256 at+jwt: ${JSON.stringify(header)}`;
    },
  },
];

/** `count` token exchange bodies, each with a fresh single-use partner JWT (unique jti). */
export async function exchangeBodies(partnerKey: CryptoKey, count: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  return Promise.all(Array.from({ length: count }, async () => {
    const subject = await new SignJWT({ iss: PARTNER, sub: 'partner-user', aud: PARTNER_AUDIENCE, iat: now, exp: now + 300, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'partner-1', typ: 'JWT' }).sign(partnerKey);
    return new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: JWT_TOKEN_TYPE, resource: RESOURCE, scope: REQUESTED_SCOPE }).toString();
  }));
}
