// examples/hooks/web.ts: the browser sign-in of the "web" and "admin-console" clients, one hook per
// step (see docs/hooks.md). Tested by test/orchestration/hook-examples.test.ts.
import { defineHooks } from '../../src/orchestration/hooks/types.ts';

export default defineHooks({
  // The admin console never reuses a Baton session: every visit signs in again upstream.
  isAuthenticated(ctx) {
    return ctx.client.id !== 'admin-console';
  },

  // Partners always sign in with Okta; a blocked domain is refused before any redirect.
  authenticate(ctx) {
    const hint = ctx.params.login_hint ?? '';
    if (hint.endsWith('@partner.example')) return { upstream: 'okta' };
    if (hint.endsWith('@former-subsidiary.example')) return { deny: 'This organisation no longer has access' };
    return undefined;
  },

  // Department and roles from the HR service, cached 5 minutes per user (in Baton's store).
  async loadAttrs(ctx, api) {
    const key = `hr:${ctx.user!.sub}`;
    const cached = await api.cache.get(key);
    if (cached) return cached as Record<string, unknown>;
    const res = await api.fetch(`https://hr.internal/people/${encodeURIComponent(ctx.user!.upstreamSubject ?? '')}`, {
      headers: { authorization: `Bearer ${api.secrets.get('hrToken')}` },
    });
    if (!res.ok) throw new Error(`HR service answered ${res.status}`);
    const { department, roles } = (await res.json()) as { department: string; roles: string[] };
    await api.cache.set(key, { department, roles }, 300);
    return { department, roles };
  },

  // Only people with a role in this application; the reason is shown to the user.
  isAuthorized(ctx) {
    const roles = (ctx.user?.attrs.roles ?? []) as string[];
    return roles.length > 0 || { allow: false, reason: 'Your account has no role in this application' };
  },

  buildIDTokenClaims(ctx) {
    return { department: ctx.user?.attrs.department };
  },

  // Roles only in tokens for the Orders API; `scope`, `sub`... would be removed.
  buildAccessTokenClaims(ctx) {
    if (ctx.resource !== 'https://orders.api.example') return {};
    return { roles: ctx.user?.attrs.roles ?? [], via: ctx.grantType ?? null };
  },
});
