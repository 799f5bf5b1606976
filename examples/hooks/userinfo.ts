// examples/hooks/userinfo.ts (provider level, top-level `hooks`): the whole userinfo response,
// whatever the scopes. Tested by test/orchestration/hook-examples.test.ts.
import type { Hooks } from '../../src/orchestration/hooks/types.ts';

export const buildUserInfoClaims: Hooks['buildUserInfoClaims'] = (ctx) => ({
  name: ctx.user?.claims.name,
  email: ctx.scopes.includes('email') ? ctx.user?.claims.email : undefined,
  department: ctx.user?.attrs.department,
});
