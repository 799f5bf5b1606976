// Passthrough mode in the configuration: an app registered at an upstream IdP keeps its client id
// and its authorize redirect there; Baton serves `{issuer}/passthrough/{id}` in front of it.
// Cross-field rules (references, duplicates) are checked by checkPassthrough below.
import { z } from 'zod';

import { SIGNING_ALGORITHMS } from './algorithms.ts';
import type { ConfigIssue } from './issues.ts';
import { duration, reuseGrace } from './duration.ts';
import { hooksSchema, ruleSchema } from './orchestration.ts';

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const REFRESH_TOKEN_MODES = ['jwe', 'handle'] as const;
export type RefreshTokenMode = (typeof REFRESH_TOKEN_MODES)[number];

export const passthroughSchema = z
  .strictObject({
    id: z.string().regex(ID, 'must be lowercase letters, digits and hyphens (it appears in the issuer URL)').describe('Identifier: the passthrough issuer is `{issuer}/passthrough/{id}`. Unique among passthrough entries; never change it once apps use it.'),
    upstream: z.string().min(1).describe('The `id` of the OpenID Connect upstream (under `upstreams`) the apps are registered at.'),
    clients: z.array(z.string().min(1)).min(1).describe('Client ids at the upstream that may use this passthrough; any other is refused with `invalid_client`.'),
    resource: z
      .strictObject({
        id: z.string().min(1).describe('The `id` of a resource declared under `resources`: the audience of the access tokens.'),
        scopes: z.array(z.string().min(1)).optional().describe('Scopes of that resource asked for on every token (each one of its `scopes`); defaults to all of them. Authorizers narrow them.'),
      })
      .optional()
      .describe('The API Baton\'s access tokens are for. Omitted: access tokens are only good for this passthrough\'s userinfo endpoint.'),
    rules: z.array(ruleSchema).optional().describe('Declarative authorization after the code exchange and on every refresh; omitted: everyone the upstream signs in is allowed.'),
    hooks: hooksSchema.optional().describe('Hook module for this passthrough: loadAttrs, isAuthorized, buildIDTokenClaims, buildAccessTokenClaims (Baton does not see the authorization request, so isAuthenticated and authenticate do not apply).'),
    signingAlg: z.enum(SIGNING_ALGORITHMS).optional().describe('Signing algorithm of the id_tokens and access tokens: one of `keys.signing`. Default RS256 when Baton holds an RS256 key (what apps registered at Entra ID or Google expect), else the first of `keys.signing`.'),
    refreshTokens: z
      .enum(REFRESH_TOKEN_MODES)
      .default('jwe')
      .describe('How the upstream refresh token is wrapped: `jwe` (encrypted, client-bound, expiring, nothing stored) or `handle` (an opaque handle; the upstream token stays in the store, sealed, rotated on every use, revocable).'),
    refreshTokenReuseGrace: reuseGrace('Reuse grace of this passthrough\'s refresh tokens, as `clients[].refreshTokenReuseGrace`: for this long after one was rotated, the same client presenting it again (a lost response, a second tab, a retry) gets the same successor and fresh tokens instead of a reuse refusal. 0: strict. Another client, or a presentation after the window or after the successor was used, is reuse (see docs/passthrough.md).'),
    refreshTokenTTL: duration('Lifetime of Baton\'s refresh tokens, never beyond the upstream\'s when the upstream says (`refresh_token_expires_in`); defaults to `ttl.refreshToken`.').optional(),
    discoveryRefresh: duration('How often the upstream discovery document is fetched again; when that fails the last good copy keeps being served.').prefault('1h'),
  })
  .describe('An app registered at an upstream IdP, served through Baton without re-registration (see docs/passthrough.md).');

export type PassthroughConfig = z.output<typeof passthroughSchema>;

/** What checkPassthrough needs to know about the rest of the file. */
export interface PassthroughReferences {
  /** Declared upstream ids -> their type once resolved (`oidc` / `oauth2`), undefined when unresolvable. */
  readonly upstreams: ReadonlyMap<unknown, 'oidc' | 'oauth2' | undefined>;
  /** Declared resource ids -> their scopes (undefined when the resource itself is broken). */
  readonly resources: ReadonlyMap<unknown, readonly string[] | undefined>;
  /** keys.signing, when readable. */
  readonly algorithms?: ReadonlySet<string>;
}

/** References, duplicates and combinations of `passthrough[]` entries. */
export function checkPassthrough(raw: unknown, refs: PassthroughReferences): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ids = new Set<string>();
  const lenient = z.object(passthroughSchema.shape);
  (Array.isArray(raw) ? raw : []).forEach((entry, i) => {
    const parsed = lenient.safeParse(entry);
    if (!parsed.success) return;
    const at = (...path: Array<string | number>) => ['passthrough', i, ...path];
    const { id, upstream, resource, signingAlg, clients } = parsed.data;
    if (ids.has(id)) issues.push({ path: at('id'), message: 'duplicate passthrough id' });
    ids.add(id);
    if (!refs.upstreams.has(upstream)) issues.push({ path: at('upstream'), message: `${upstream} is not the id of a declared upstream` });
    else if (refs.upstreams.get(upstream) === 'oauth2') issues.push({ path: at('upstream'), message: `${upstream} is an oauth2 upstream; passthrough needs an OpenID Connect upstream (it verifies the upstream id_token)` });
    if (new Set(clients).size !== clients.length) issues.push({ path: at('clients'), message: 'must not list a client id twice' });
    if (resource) {
      if (!refs.resources.has(resource.id)) issues.push({ path: at('resource', 'id'), message: `${resource.id} is not the id of a declared resource` });
      const scopes = refs.resources.get(resource.id);
      resource.scopes?.forEach((scope, s) => {
        if (scopes && !scopes.includes(scope)) issues.push({ path: at('resource', 'scopes', s), message: `is not a scope of resource ${resource.id}` });
      });
    }
    if (signingAlg && refs.algorithms && !refs.algorithms.has(signingAlg)) issues.push({ path: at('signingAlg'), message: 'must be one of keys.signing' });
  });
  return issues;
}
