// examples/hooks/groups.ts: group membership from the upstream id_token (Entra ID, Okta, Keycloak,
// Auth0 with an Action), read from the id_token Baton has already verified: for upstreams whose
// `claims` mapping does not carry `groups` (with `groups: groups` mapped, the `group` rule is enough).
// Tested by test/orchestration/hook-examples.test.ts.
import type { Hooks } from '../../src/orchestration/hooks/types.ts';

/** The payload of a JWT whose signature Baton has already checked (the upstream id_token). */
function payloadOf(jwt: string | undefined): Record<string, unknown> {
  const part = jwt?.split('.')[1];
  return part ? (JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>) : {};
}

export const loadAttrs: Hooks['loadAttrs'] = (_ctx, api) => {
  const { groups } = payloadOf(api.upstream?.tokens.idToken);
  return { groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [] };
};

export const isAuthorized: Hooks['isAuthorized'] = (ctx) => {
  const groups = (ctx.user?.attrs.groups ?? []) as string[];
  return groups.includes('staff') || { allow: false, reason: 'Only staff may use this application' };
};

export const buildAccessTokenClaims: Hooks['buildAccessTokenClaims'] = (ctx) => ({ groups: ctx.user?.attrs.groups ?? [] });
