// The demo APIs (resource servers): accept only Baton's RFC 9068 access tokens for their own
// audience, verified against Baton's JWKS (signature, `typ: at+jwt`, `iss`, `aud`, `exp`), and show
// the caller's claims and scopes. Errors follow RFC 6750 section 3 (WWW-Authenticate).
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

import { sendJson, type Handler } from './http.ts';

export interface DemoApi {
  /** Path prefix on the demo API server, e.g. `/orders`. */
  readonly path: string;
  readonly name: string;
  /** `aud` its tokens must carry: the resource's `audience` (or id) in Baton's config. */
  readonly audience: string;
  /** Scope needed to read; a POST needs `writeScope`. */
  readonly readScope: string;
  readonly writeScope?: string;
}

export interface ApiOptions {
  readonly issuer: string;
  readonly apis: readonly DemoApi[];
  readonly jwks?: JWTVerifyGetKey;
  readonly onCall?: (api: DemoApi, status: number, sub?: string) => void;
}

export class InvalidToken extends Error {}

/** Verifies a Baton access token for `audience`; throws InvalidToken saying why not. */
export async function verifyAccessToken(token: string, jwks: JWTVerifyGetKey, issuer: string, audience: string): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt', clockTolerance: 5, requiredClaims: ['exp', 'sub', 'client_id'] });
    return payload;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const claim = (err as { claim?: string }).claim;
    throw new InvalidToken(code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim ? `the token's ${claim} is not accepted here` : code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : 'the token is not a valid Baton access token');
  }
}

const quote = (value: string) => `"${value.replace(/["\\]/g, '')}"`;

export function demoApis(options: ApiOptions): Handler {
  const jwks = options.jwks ?? createRemoteJWKSet(new URL(`${options.issuer}/jwks`));
  return async (req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    const api = options.apis.find((a) => pathname === a.path);
    if (!api) {
      return sendJson(res, 404, { error: 'not_found', apis: options.apis.map((a) => ({ path: a.path, name: a.name, audience: a.audience })) });
    }
    const challenge = (status: number, params: Record<string, string>) => {
      const header = ['Bearer', [`realm=${quote(api.name)}`, ...Object.entries(params).map(([k, v]) => `${k}=${quote(v)}`)].join(', ')].join(' ');
      options.onCall?.(api, status);
      sendJson(res, status, { error: params.error ?? 'unauthorized', ...(params.error_description ? { error_description: params.error_description } : {}) }, { 'www-authenticate': header });
    };
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return challenge(401, {});
    let claims: JWTPayload;
    try {
      claims = await verifyAccessToken(token, jwks, options.issuer, api.audience);
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      return challenge(401, { error: 'invalid_token', error_description: err.message });
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    const needed = req.method === 'POST' && api.writeScope ? api.writeScope : api.readScope;
    if (req.method !== 'GET' && !(req.method === 'POST' && api.writeScope)) return sendJson(res, 405, { error: 'method_not_allowed' });
    if (!scopes.includes(needed)) return challenge(403, { error: 'insufficient_scope', scope: needed, error_description: `this needs ${needed}` });
    const status = req.method === 'POST' ? 201 : 200;
    options.onCall?.(api, status, claims.sub);
    sendJson(res, status, {
      api: api.name,
      ...(req.method === 'POST' ? { created: { id: `ord-${Date.now().toString(36)}`, by: claims.sub } } : {}),
      caller: { sub: claims.sub, client_id: claims.client_id, ...(claims.act ? { act: claims.act } : {}) },
      scopes,
      claims,
    });
  };
}
