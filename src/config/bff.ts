// The backend-for-frontend in the configuration (RFC 10017 / BCP 212): a SPA's origins, API routes
// and session settings, served under `{issuer}/bff/{id}/` through a confidential client of Baton.
// Cross-field rules (the client, its redirect URI, resources) are checked by checkBff below.
import { z } from 'zod';

import { duration } from './duration.ts';
import type { ConfigIssue } from './issues.ts';

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const BFF_TOKEN_KINDS = ['user', 'client-credentials', 'none'] as const;
export const BFF_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** An origin: scheme, host and port only (what a browser sends as `Origin`). */
const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}, 'must be an origin: scheme, host and optional port, no path or trailing slash (e.g. https://app.example.com)');

const upstreamUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.search && !url.hash;
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL without query or fragment');

const routeSchema = z
  .strictObject({
    name: z.string().regex(ID, 'must be lowercase letters, digits and hyphens (it appears in the URL)').describe('The route\'s name: the SPA calls `{issuer}/bff/{id}/api/{name}/...`. Unique within the entry.'),
    url: upstreamUrl.describe('The API\'s base URL; the rest of the path and the query are appended to it.'),
    methods: z.array(z.enum(BFF_METHODS)).min(1).default(['GET']).describe('HTTP methods forwarded; any other is answered 405.'),
    token: z.enum(BFF_TOKEN_KINDS).default('user').describe('`user`: the signed-in user\'s access token for `resource` (RFC 8707, its own audience and scopes, decided by the authorizers); `client-credentials`: a token of the BFF\'s client itself for `resource`; `none`: no token.'),
    resource: z.string().min(1).optional().describe('The `id` of a declared resource the token is for; required unless `token` is `none`, and one of the client\'s resources.'),
  })
  .describe('An API the SPA reaches through the BFF.');

export const bffSchema = z
  .strictObject({
    id: z.string().regex(ID, 'must be lowercase letters, digits and hyphens (it appears in the URL)').describe('Identifier: the endpoints are under `{issuer}/bff/{id}/`. Unique among BFF entries.'),
    client_id: z.string().min(1).describe('The `client_id` of a confidential client under `clients` (with `client_secret`, `authorization_code` and `refresh_token`, and `{issuer}/bff/{id}/callback` among its `redirect_uris`). Baton signs in through it; its secret and tokens never reach the browser. Formerly `clientId`.'),
    origins: z.array(origin).min(1).describe('Origins the SPA is served from. Only they get CORS answers and may call `user`, `logout`, `token` and `api/`; `returnTo` must be on one of them.'),
    scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']).describe('OpenID Connect scopes asked for at sign-in (the routes\' resource scopes are added).'),
    routes: z.array(routeSchema).default([]).describe('The APIs the proxy reaches, under `api/{name}/`; any other path is answered 404.'),
    session: z
      .strictObject({
        idle: duration('A session unused for this long ends.').prefault('30m'),
        absolute: duration('A session ends this long after sign-in, however active.').prefault('12h'),
        sameSite: z.enum(['strict', 'lax']).default('strict').describe('SameSite of the session cookie. `strict` (default): never sent on cross-site requests, so the SPA must be on the same site as Baton (e.g. app.example.com and login.example.com). `lax` also sends it on top-level cross-site navigations (links into the SPA); the CSRF header still guards every call.'),
      })
      .prefault({})
      .describe('Session lifetimes and cookie.'),
    proxy: z
      .strictObject({
        timeout: duration('Bound on each API call (connecting, headers and body).').prefault('30s'),
        maxBodySize: z.number().int().min(0).max(100 * 1024 * 1024).default(1024 * 1024).describe('Largest request body forwarded, in bytes; a larger one is answered 413.'),
      })
      .prefault({})
      .describe('Limits of the API proxy.'),
    tokenEndpoint: z.boolean().default(false).describe('Serve `GET token?resource=` (RFC 10017 section 6.2, token-mediating backend): a short-lived access token for one of the routes\' resources, readable by the SPA\'s JavaScript. Off by default; never a refresh token.'),
  })
  .describe('A backend-for-frontend for a single-page app (see docs/bff.md).');

export type BffConfig = z.output<typeof bffSchema>;
export type BffRouteConfig = BffConfig['routes'][number];

/** What checkBff needs to know about a client. */
export interface BffClientFacts {
  readonly confidential: boolean;
  readonly grantTypes: readonly string[];
  readonly redirectUris: readonly string[];
  readonly resources: readonly string[];
}

/** The BFF's redirect URI at Baton. */
export function bffCallbackUrl(issuer: string, id: string): string {
  return `${issuer}/bff/${id}/callback`;
}

/** References, duplicates and combinations of `bff[]` entries. */
export function checkBff(raw: unknown, issuer: unknown, clients: ReadonlyMap<string, BffClientFacts>, resources: ReadonlySet<unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ids = new Set<string>();
  const lenient = z.object(bffSchema.shape);
  (Array.isArray(raw) ? raw : []).forEach((entry, i) => {
    const at = (...path: Array<string | number>) => ['bff', i, ...path];
    // Duplicates by the id as written, so a broken entry still claims its id.
    const written = (entry as { id?: unknown } | null)?.id;
    if (typeof written === 'string') {
      if (ids.has(written)) issues.push({ path: at('id'), message: 'duplicate bff id' });
      ids.add(written);
    }
    const parsed = lenient.safeParse(entry);
    if (!parsed.success) return;
    const { id, client_id: clientId, routes, origins } = parsed.data;
    if (new Set(origins).size !== origins.length) issues.push({ path: at('origins'), message: 'must not list an origin twice' });
    const client = clients.get(clientId);
    if (!client) issues.push({ path: at('client_id'), message: `${clientId} is not the client_id of a declared client` });
    else {
      if (!client.confidential) issues.push({ path: at('client_id'), message: `${clientId} must be a confidential client with a plain client_secret (Baton authenticates as it)` });
      for (const grant of ['authorization_code', 'refresh_token']) {
        if (!client.grantTypes.includes(grant)) issues.push({ path: at('client_id'), message: `${clientId} must allow the ${grant} grant` });
      }
      if (typeof issuer === 'string' && !client.redirectUris.includes(bffCallbackUrl(issuer, id))) {
        issues.push({ path: at('client_id'), message: `${clientId} must list ${bffCallbackUrl(issuer, id)} in its redirect_uris` });
      }
    }
    const names = new Set<string>();
    routes.forEach((route, r) => {
      if (names.has(route.name)) issues.push({ path: at('routes', r, 'name'), message: 'duplicate route name' });
      names.add(route.name);
      if (route.token === 'none') return;
      if (route.resource === undefined) {
        issues.push({ path: at('routes', r, 'resource'), message: `required when token is ${route.token}` });
        return;
      }
      if (!resources.has(route.resource)) issues.push({ path: at('routes', r, 'resource'), message: `${route.resource} is not the id of a declared resource` });
      else if (client && !client.resources.includes(route.resource)) issues.push({ path: at('routes', r, 'resource'), message: `${route.resource} is not one of ${clientId}'s resources` });
      if (route.token === 'client-credentials' && client && !client.grantTypes.includes('client_credentials')) {
        issues.push({ path: at('routes', r, 'token'), message: `${clientId} must allow the client_credentials grant` });
      }
    });
  });
  return issues;
}
