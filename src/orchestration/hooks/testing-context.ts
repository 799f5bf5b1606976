// The context the hook test kit passes when a test names only what matters to it: per hook, the
// flow, grant and user Baton's own call sites give (src/interactions, src/grants, src/provider).
import { merged } from '../../lang/merged.ts';
import type { HookInput } from './runner.ts';
import type { HookName, HookUser } from './types.ts';

/**
 * The signed-in user of test contexts, unless a test gives its own (`user` fields are merged onto it).
 *
 * @example
 * import { TEST_USER } from 'baton/hooks/testing';
 * // { sub: 'example:alice', upstream: 'example', upstreamSubject: 'alice', claims: { email, name }, attrs: {} }
 * console.log(TEST_USER.sub);
 */
export const TEST_USER: HookUser = Object.freeze({
  sub: 'example:alice',
  upstream: 'example',
  upstreamSubject: 'alice',
  claims: Object.freeze({ email: 'alice@example.com', name: 'Alice Example' }),
  attrs: Object.freeze({}),
});

/**
 * What a test gives of the context: any field of the hook's context, the rest defaulted. `user` is
 * merged onto `TEST_USER` (`{ attrs: { roles: ['buyer'] } }` keeps its `sub`), and `null` means no
 * user (client_credentials). `authenticateBackchannel` needs `username` and `password`.
 *
 * @example
 * import type { HookTestContext } from 'baton/hooks/testing';
 * const serviceToken: HookTestContext<'buildAccessTokenClaims'> = { grantType: 'client_credentials', user: null };
 */
export type HookTestContext<N extends HookName> = Partial<Omit<HookInput<N>, 'user' | 'username' | 'password'>> & {
  readonly user?: Partial<HookUser> | null;
} & (N extends 'authenticateBackchannel' ? { readonly username: string; readonly password: string } : unknown);

interface Defaults {
  readonly flow: 'authorization' | 'token' | 'userinfo';
  readonly grantType?: string;
  /** Whether Baton has a signed-in user at this point. */
  readonly user: boolean;
}

const DEFAULTS: { readonly [N in HookName]: Defaults } = {
  isAuthenticated: { flow: 'authorization', user: true },
  authenticate: { flow: 'authorization', user: false },
  authenticateBackchannel: { flow: 'token', grantType: 'password', user: false },
  loadAttrs: { flow: 'authorization', user: true },
  isAuthorized: { flow: 'authorization', user: true },
  buildIDTokenClaims: { flow: 'token', grantType: 'authorization_code', user: true },
  buildAccessTokenClaims: { flow: 'token', grantType: 'authorization_code', user: true },
  buildUserInfoClaims: { flow: 'userinfo', user: true },
};

/** The full context for hook `hook`: defaults, then the test's fields. */
export function testContext(hook: HookName, given: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const defaults = DEFAULTS[hook];
  const { user, ...fields } = given as { user?: Partial<HookUser> | null };
  const hookUser = user === null ? undefined : user === undefined ? (defaults.user ? TEST_USER : undefined) : merged(TEST_USER, user);
  return {
    client: { id: 'example-client', name: 'Example client' },
    flow: defaults.flow,
    ...(defaults.grantType ? { grantType: defaults.grantType } : {}),
    scopes: ['openid', 'email'],
    params: {},
    requestId: 'test-request',
    ...(hookUser ? { user: hookUser } : {}),
    ...fields,
  };
}
