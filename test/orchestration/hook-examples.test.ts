// The worked examples of docs/hooks.md are real modules (examples/hooks/), wired by
// examples/hooks/baton.yaml: loaded here through the config loader and Baton's hook loader
// (HookPoints, as `baton start` does), each hook run through the real runner (frozen context,
// deadline, result checks) against a representative input. The HR service and LDAP bridge the
// examples call are played by a fetch stand-in that checks what the hooks send. docs/hooks.md
// embeds each module verbatim, so the page cannot drift from the tested code.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { loadConfigFile } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { HookPoints } from '../../src/orchestration/hook-points.ts';
import type { HookEvent } from '../../src/orchestration/hooks/runner.ts';
import type { HookContext, HookUser } from '../../src/orchestration/hooks/types.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';

const DIR = fileURLToPath(new URL('../../examples/hooks/', import.meta.url));
const DOC = fileURLToPath(new URL('../../docs/hooks.md', import.meta.url));

const ENV = {
  BATON_MASTER_SECRET: 'master-secret-that-is-long-enough-0123456789',
  ENTRA_CLIENT_SECRET: 'entra-secret-0123456789',
  OKTA_CLIENT_SECRET: 'okta-secret-0123456789',
  WEB_CLIENT_SECRET: 'web-client-secret-0123456789',
  ADMIN_CLIENT_SECRET: 'admin-client-secret-0123456789',
  STAFF_CLIENT_SECRET: 'staff-client-secret-0123456789',
  LEGACY_CLIENT_SECRET: 'legacy-client-secret-0123456789',
  HR_SERVICE_TOKEN: 'hr-token-SENSITIVE',
  LDAP_BRIDGE_KEY: 'ldap-key-SENSITIVE',
};

const ANN: HookUser = {
  sub: 'entra:72f988bf:ann-oid',
  upstream: 'entra',
  upstreamSubject: '72f988bf:ann-oid',
  claims: { email: 'ann@example.com', name: 'Ann Example' },
  attrs: {},
};

function ctx(overrides: Partial<Omit<HookContext, 'hook'>> = {}): Omit<HookContext, 'hook'> {
  return { client: { id: 'web' }, flow: 'authorization', scopes: ['openid', 'email'], params: {}, user: ANN, requestId: 'req-1', ...overrides };
}

let hooks: HookPoints;
const events: HookEvent[] = [];
beforeAll(async () => {
  const config = loadConfigFile(`${DIR}baton.yaml`, { env: ENV });
  hooks = await HookPoints.load(config, DIR, { store: new MemoryStore(), logger: createLogger('silent'), onEvent: (e) => void events.push(e) });
});
afterEach(() => {
  vi.unstubAllGlobals();
});

/** Plays the services the examples call; records every request. */
function services(handler: (url: string, init: RequestInit) => Response) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  vi.stubGlobal('fetch', async (input: string | URL, init: RequestInit = {}) => {
    calls.push({ url: String(input), init });
    return handler(String(input), init);
  });
  return calls;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('examples/hooks/baton.yaml', () => {
  it('loads every example module through the hook loader, at the level it belongs to', () => {
    const names = ['isAuthenticated', 'authenticate', 'loadAttrs', 'isAuthorized', 'buildIDTokenClaims', 'buildAccessTokenClaims'] as const;
    for (const name of names) expect(hooks.has('web', name)).toBe(true);
    for (const name of names) expect(hooks.has('admin-console', name)).toBe(true);
    expect(hooks.has(undefined, 'buildUserInfoClaims')).toBe(true);
    expect(hooks.has('legacy-cli', 'authenticateBackchannel')).toBe(true);
    expect(['loadAttrs', 'isAuthorized', 'buildAccessTokenClaims'].every((n) => hooks.has('staff-portal', n as 'loadAttrs'))).toBe(true);
    expect(hooks.has('staff-portal', 'authenticate')).toBe(false);
  });
});

describe('examples/hooks/web.ts', () => {
  it('isAuthenticated: the admin console always signs in again; other clients reuse the session', async () => {
    expect(await hooks.run('admin-console', 'isAuthenticated', ctx({ client: { id: 'admin-console' } }))).toBe(false);
    expect(await hooks.run('web', 'isAuthenticated', ctx())).toBe(true);
  });

  it('authenticate: partners go to Okta, a blocked domain is refused, everyone else gets default routing', async () => {
    expect(await hooks.run('web', 'authenticate', ctx({ params: { login_hint: 'pat@partner.example' } }))).toEqual({ upstream: 'okta' });
    expect(await hooks.run('web', 'authenticate', ctx({ params: { login_hint: 'sam@former-subsidiary.example' } }))).toEqual({ deny: 'This organisation no longer has access' });
    expect(await hooks.run('web', 'authenticate', ctx({ params: { login_hint: 'ann@example.com' } }))).toBeUndefined();
    expect(await hooks.run('web', 'authenticate', ctx())).toBeUndefined();
  });

  it('loadAttrs: asks the HR service with the configured secret once, then answers from the cache', async () => {
    const calls = services(() => json({ department: 'finance', roles: ['approver'], salary: 'not copied' }));
    const user = { ...ANN, sub: 'entra:72f988bf:loadattrs-oid', upstreamSubject: '72f988bf:loadattrs-oid' };
    expect(await hooks.run('web', 'loadAttrs', ctx({ user }))).toEqual({ department: 'finance', roles: ['approver'] });
    expect(await hooks.run('web', 'loadAttrs', ctx({ user }))).toEqual({ department: 'finance', roles: ['approver'] });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe('https://hr.internal/people/72f988bf%3Aloadattrs-oid');
    expect(new Headers(calls[0]!.init.headers).get('authorization')).toBe(`Bearer ${ENV.HR_SERVICE_TOKEN}`);
  });

  it('loadAttrs: an HR outage fails the sign-in cleanly (the client sees a generic message)', async () => {
    services(() => json({ error: 'down' }, 503));
    const user = { ...ANN, sub: 'entra:72f988bf:outage-oid' };
    await expect(hooks.run('web', 'loadAttrs', ctx({ user }))).rejects.toMatchObject({ name: 'HookError', kind: 'threw', message: 'The loadAttrs extension failed.' });
  });

  it('isAuthorized: a role is required; without one the reason is shown', async () => {
    expect(await hooks.run('web', 'isAuthorized', ctx({ user: { ...ANN, attrs: { roles: ['approver'] } } }))).toEqual({ allow: true });
    expect(await hooks.run('web', 'isAuthorized', ctx({ user: { ...ANN, attrs: { roles: [] } } }))).toEqual({ allow: false, reason: 'Your account has no role in this application' });
  });

  it('buildIDTokenClaims: the department from the attributes', async () => {
    expect(await hooks.run('web', 'buildIDTokenClaims', ctx({ flow: 'token', grantType: 'authorization_code', user: { ...ANN, attrs: { department: 'finance' } } }))).toEqual({ department: 'finance' });
  });

  it('buildAccessTokenClaims: roles only in Orders API tokens, with the grant type', async () => {
    const token = ctx({ flow: 'token', grantType: 'refresh_token', resource: 'https://orders.api.example', user: { ...ANN, attrs: { roles: ['approver'] } } });
    expect(await hooks.run('web', 'buildAccessTokenClaims', token)).toEqual({ roles: ['approver'], via: 'refresh_token' });
    expect(await hooks.run('web', 'buildAccessTokenClaims', { ...token, resource: 'https://other.api.example' })).toEqual({});
  });
});

describe('examples/hooks/userinfo.ts', () => {
  it('buildUserInfoClaims: name and department always, email only with the email scope', async () => {
    const user = { ...ANN, attrs: { department: 'finance' } };
    expect(await hooks.run(undefined, 'buildUserInfoClaims', ctx({ flow: 'userinfo', scopes: ['openid', 'email'], user }))).toEqual({ name: 'Ann Example', email: 'ann@example.com', department: 'finance' });
    expect(await hooks.run(undefined, 'buildUserInfoClaims', ctx({ flow: 'userinfo', scopes: ['openid'], user }))).toEqual({ name: 'Ann Example', department: 'finance' });
  });
});

describe('examples/hooks/legacy-cli.ts', () => {
  const password = (username: string, secret: string) => ({ ...ctx({ client: { id: 'legacy-cli' }, flow: 'token', grantType: 'password', user: undefined }), username, password: secret });

  it('authenticateBackchannel: the LDAP bridge binds the user; subject and claims come back', async () => {
    const calls = services((_url, init) => {
      const { username, password: secret } = JSON.parse(String(init.body)) as { username: string; password: string };
      return username === 'ann' && secret === 'correct horse' ? json({ uid: 'ann', mail: 'ann@example.com', cn: 'Ann Example' }) : json({}, 401);
    });
    expect(await hooks.run('legacy-cli', 'authenticateBackchannel', password('ann', 'correct horse'))).toEqual({ sub: 'ldap:ann', claims: { email: 'ann@example.com', name: 'Ann Example' } });
    expect(await hooks.run('legacy-cli', 'authenticateBackchannel', password('ann', 'wrong'))).toEqual({ deny: 'Invalid username or password' });
    expect(calls[0]!.url).toBe('https://ldap-bridge.internal/bind');
    expect(calls[0]!.init.method).toBe('POST');
    expect(new Headers(calls[0]!.init.headers).get('x-api-key')).toBe(ENV.LDAP_BRIDGE_KEY);
  });

  it('authenticateBackchannel: a bridge failure is a hook failure, not a refusal', async () => {
    services(() => json({}, 500));
    await expect(hooks.run('legacy-cli', 'authenticateBackchannel', password('ann', 'x'))).rejects.toMatchObject({ kind: 'threw' });
  });
});

describe('examples/hooks/groups.ts', () => {
  let idToken: (claims: Record<string, unknown>) => Promise<string>;
  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('RS256');
    idToken = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://login.microsoftonline.com/72f988bf/v2.0').setAudience('baton').setIssuedAt().setExpirationTime('5m').sign(privateKey);
  });
  const upstream = (token: string) => ({ upstream: { id: 'entra', claims: { email: 'ann@example.com' }, tokens: { idToken: token } } });
  const staff = ctx({ client: { id: 'staff-portal' } });

  it('loadAttrs: the groups array of the upstream id_token becomes an attribute (strings only)', async () => {
    const token = await idToken({ sub: 'x', tid: '72f988bf', oid: 'ann-oid', groups: ['staff', 'orders-admins', 42] });
    expect(await hooks.run('staff-portal', 'loadAttrs', staff, upstream(token))).toEqual({ groups: ['staff', 'orders-admins'] });
    expect(await hooks.run('staff-portal', 'loadAttrs', staff, upstream(await idToken({ sub: 'x' })))).toEqual({ groups: [] });
    expect(await hooks.run('staff-portal', 'loadAttrs', staff)).toEqual({ groups: [] });
  });

  it('isAuthorized and buildAccessTokenClaims: staff only; the groups go into access tokens', async () => {
    expect(await hooks.run('staff-portal', 'isAuthorized', { ...staff, user: { ...ANN, attrs: { groups: ['staff'] } } })).toEqual({ allow: true });
    expect(await hooks.run('staff-portal', 'isAuthorized', { ...staff, user: { ...ANN, attrs: { groups: ['contractors'] } } })).toEqual({ allow: false, reason: 'Only staff may use this application' });
    expect(await hooks.run('staff-portal', 'buildAccessTokenClaims', { ...staff, flow: 'token', user: { ...ANN, attrs: { groups: ['staff'] } } })).toEqual({ groups: ['staff'] });
  });
});

describe('docs/hooks.md', () => {
  it('embeds every example module verbatim, and every hook has a tested example', () => {
    const doc = readFileSync(DOC, 'utf8');
    const blocks = [...doc.matchAll(/```ts\n(\/\/ (examples\/hooks\/[\w.-]+\.ts)[^\n]*\n[\s\S]*?)```/g)].map((m) => ({ file: m[2]!, code: m[1]! }));
    const modules = readdirSync(DIR).filter((f) => f.endsWith('.ts')).sort();
    expect(blocks.map((b) => b.file).sort()).toEqual(modules.map((f) => `examples/hooks/${f}`));
    for (const { file, code } of blocks) expect(code).toBe(readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), 'utf8'));
    const ran = new Set(events.filter((e) => e.type === 'hook.ran').map((e) => e.hook));
    expect([...ran].sort()).toEqual(['authenticate', 'authenticateBackchannel', 'buildAccessTokenClaims', 'buildIDTokenClaims', 'buildUserInfoClaims', 'isAuthenticated', 'isAuthorized', 'loadAttrs']);
  });
});
