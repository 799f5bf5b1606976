// `baton preview`, run as a process against the configuration of a running Baton: it prints the
// same token claims (but the per-token ones) that Baton's token endpoint issued after a real
// upstream sign-in, with the real hook module and the real HTTP authorizer (which verifies Baton's
// JWT), and explains them; refusals print why and exit 1; usage errors exit 2.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/baton-cli.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { TEST_ENV } from '../helpers/baton.ts';
import { API, decisionClaims, SCOPE, startBed, USERS, withoutPerToken, type Bed } from './bed.ts';

let bed: Bed;
beforeAll(async () => {
  bed = await startBed();
}, 60_000);
afterAll(() => bed?.stop());

async function preview(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const cli = runCli(['preview', '--config', bed.configFile, ...args]);
  const status = await cli.exited;
  return { status, stdout: cli.stdout(), stderr: cli.stderr() };
}

interface PreviewJson {
  notes: string[];
  outcome: string;
  idToken?: Record<string, unknown>;
  accessTokens: Array<{ resource: string; claims: Record<string, unknown> }>;
  trace: { result: { scopes: Array<{ scope: string; granted: boolean; by: string }>; claims: Array<{ claim: string; by: string; token: string; value?: unknown }> } };
}

/** The upstream id_token of a user, signed by the upstream's current key (as its sign-in would give). */
async function idTokenFile(user: keyof typeof USERS, options: { foreignKey?: boolean } = {}): Promise<string> {
  const file = join(bed.dir, `${user}-${options.foreignKey ? 'forged' : 'real'}.jwt`);
  writeFileSync(file, await bed.idp.issueIdToken({ sub: USERS[user].username, aud: 'baton', ...USERS[user].claims }, { foreignKey: options.foreignKey ?? false }));
  return file;
}

describe('baton preview', () => {
  it('prints the claims the token endpoint issues after a real sign-in (hooks, authorizer, scope claims), per-token claims aside', async () => {
    const issued = await bed.signIn('alice');
    const out = await preview(['--client', 'web', '--id-token', await idTokenFile('alice'), '--upstream', 'corp', '--scope', SCOPE, '--resource', API, '--json']);
    expect(out.stderr).not.toMatch(/Error/);
    expect(out.status).toBe(0);
    const json = JSON.parse(out.stdout) as PreviewJson;
    expect(json.notes.join('\n')).toMatch(/signature VERIFIED against the JWKS of upstream corp/);
    expect(json.notes.join('\n')).toMatch(/signed with Baton's current signing key/);

    const realId = decisionClaims(issued.id_token!);
    expect(realId).toMatchObject({ sub: 'corp:alice', email: 'alice@example.org', name: 'Alice Buyer', department: 'purchasing' });
    expect(withoutPerToken(json.idToken!)).toStrictEqual(realId);

    const realAccess = decisionClaims(issued.access_token);
    expect(realAccess).toMatchObject({ scope: 'orders:read orders:write', orders: { limit: 5000 }, department: 'purchasing', grant: 'authorization_code' });
    expect(json.accessTokens).toHaveLength(1);
    expect(json.accessTokens[0]!.resource).toBe(API);
    expect(withoutPerToken(json.accessTokens[0]!.claims)).toStrictEqual(realAccess);

    // Every claim is listed in the trace with who set it; per-token ones without their value.
    const origins = Object.fromEntries(json.trace.result.claims.filter((c) => c.token === 'access_token').map((c) => [c.claim, c]));
    expect(origins.orders).toMatchObject({ by: 'authorizer:orders', value: { limit: 5000 } });
    expect(origins.department).toMatchObject({ by: 'hook:buildAccessTokenClaims', value: 'purchasing' });
    expect(origins.iss).toMatchObject({ by: 'baton', value: bed.baton.url });
    expect(origins.jti).toStrictEqual({ token: 'access_token', resource: API, claim: 'jti', by: 'baton' });
    expect(Object.keys(origins).sort()).toStrictEqual(Object.keys(decisionClaims(issued.access_token)).concat(['jti', 'iat', 'exp']).sort());
  });

  it('explains a scope an authorizer denied (bob is not a buyer), as text', async () => {
    const issued = await bed.signIn('bob');
    expect(decisionClaims(issued.access_token).scope).toBe('orders:read');
    const out = await preview(['--client', 'web', '--id-token', await idTokenFile('bob'), '--scope', SCOPE, '--resource', API]);
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/access token for https:\/\/orders\.api\.example:/);
    expect(out.stdout).toMatch(/"scope": "orders:read"/);
    expect(out.stdout).toMatch(/"department": "sales"/);
    // The explanation (renderTrace, whichever renderer) names the denied scope; the trace says who denied it.
    const explanation = out.stdout.slice(out.stdout.indexOf('explanation:'));
    expect(explanation).toMatch(/orders:write/);
    const json = JSON.parse((await preview(['--client', 'web', '--id-token', await idTokenFile('bob'), '--scope', SCOPE, '--resource', API, '--json'])).stdout) as PreviewJson;
    expect(json.trace.result.scopes).toContainEqual({ scope: 'orders:write', resource: API, granted: false, by: 'authorizer:orders', reason: 'not a buyer' });
  });

  it('--claims: the mapped claims from a file give the same tokens as the id_token', async () => {
    const file = join(bed.dir, 'alice-claims.json');
    writeFileSync(file, JSON.stringify({ upstream: 'corp', upstreamSubject: 'alice', claims: USERS.alice.claims }));
    const fromClaims = JSON.parse((await preview(['--client', 'web', '--claims', file, '--scope', SCOPE, '--resource', API, '--json'])).stdout) as PreviewJson;
    const fromToken = JSON.parse((await preview(['--client', 'web', '--id-token', await idTokenFile('alice'), '--scope', SCOPE, '--resource', API, '--json'])).stdout) as PreviewJson;
    expect(withoutPerToken(fromClaims.idToken!)).toStrictEqual(withoutPerToken(fromToken.idToken!));
    expect(withoutPerToken(fromClaims.accessTokens[0]!.claims)).toStrictEqual(withoutPerToken(fromToken.accessTokens[0]!.claims));
  });

  it('client_credentials: the same claims as the token endpoint issues', async () => {
    const res = await postForm(`${bed.baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=${encodeURIComponent('orders:read catalog:read')}`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    expect(res.status).toBe(200);
    const out = await preview(['--client', 'service', '--grant', 'client_credentials', '--scope', 'orders:read catalog:read', '--json']);
    expect(out.status).toBe(0);
    const json = JSON.parse(out.stdout) as PreviewJson;
    expect(json.idToken).toBeUndefined();
    expect(withoutPerToken(json.accessTokens[0]!.claims)).toStrictEqual(decisionClaims(res.json.access_token as string));
  });

  it('a refusal prints why and exits 1: the isAuthorized hook, the rules, a scope outside the client\'s', async () => {
    const blocked = await preview(['--client', 'web', '--id-token', await idTokenFile('blocked'), '--scope', SCOPE, '--resource', API]);
    expect(blocked.status).toBe(1);
    expect(blocked.stdout).toMatch(/REFUSED: access_denied: blocked by the HR system \(by hook:isAuthorized\)/);
    expect(blocked.stdout).not.toMatch(/access token for/);

    const outsider = join(bed.dir, 'outsider.json');
    writeFileSync(outsider, JSON.stringify({ upstream: 'corp', upstreamSubject: 'eve', claims: { email: 'eve@elsewhere.example', email_verified: true } }));
    const ruled = await preview(['--client', 'web', '--claims', outsider, '--scope', SCOPE, '--resource', API]);
    expect(ruled.status).toBe(1);
    expect(ruled.stdout).toMatch(/REFUSED: access_denied: .*\(by rules\)/);

    const scoped = await preview(['--client', 'service', '--grant', 'client_credentials', '--scope', 'orders:read admin:all']);
    expect(scoped.status).toBe(1);
    expect(scoped.stdout).toMatch(/REFUSED: invalid_scope: requested scope is not allowed: admin:all/);
    const wrongGrant = await preview(['--client', 'service', '--grant', 'authorization_code', '--claims', outsider]);
    expect(wrongGrant.status).toBe(1);
    expect(wrongGrant.stdout).toMatch(/REFUSED: unauthorized_client/);
  });

  it('an id_token signed with another key is not trusted silently: the output says NOT VERIFIED', async () => {
    const out = await preview(['--client', 'web', '--id-token', await idTokenFile('alice', { foreignKey: true }), '--upstream', 'corp', '--scope', 'openid email']);
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/signature NOT VERIFIED/);
  });

  it('the authorizer down: refused with temporarily_unavailable (as the token endpoint would), exit 1', async () => {
    const down = bed.writeConfig('authorizer-down', (raw) => ({ ...raw, authorizers: [{ id: 'orders', url: 'http://127.0.0.1:9/decide', namespace: 'orders:', cacheTTL: 0, timeout: '1s' }] }));
    const cli = runCli(['preview', '--config', down, '--client', 'service', '--grant', 'client_credentials', '--scope', 'orders:read']);
    expect(await cli.exited).toBe(1);
    expect(cli.stdout()).toMatch(/REFUSED: temporarily_unavailable: the authorizer orders could not decide/);
  });

  it('--recorded: the authorizers\' answers from a trace, not called (same tokens with the authorizer unreachable)', async () => {
    const live = await preview(['--client', 'web', '--id-token', await idTokenFile('alice'), '--scope', SCOPE, '--resource', API, '--json']);
    const recordedFile = join(bed.dir, 'alice-trace.json');
    writeFileSync(recordedFile, JSON.stringify((JSON.parse(live.stdout) as PreviewJson).trace));
    const before = bed.authorizer.seen.length;
    const down = bed.writeConfig('authorizer-gone', (raw) => ({ ...raw, authorizers: [{ id: 'orders', url: 'http://127.0.0.1:9/decide', namespace: 'orders:', cacheTTL: 0, timeout: '1s' }] }));
    const cli = runCli(['preview', '--config', down, '--client', 'web', '--id-token', await idTokenFile('alice'), '--scope', SCOPE, '--resource', API, '--recorded', recordedFile, '--json']);
    expect(await cli.exited).toBe(0);
    const replayed = JSON.parse(cli.stdout()) as PreviewJson;
    expect(replayed.notes.join('\n')).toMatch(/answers recorded in trace preview-/);
    expect(withoutPerToken(replayed.accessTokens[0]!.claims)).toStrictEqual(withoutPerToken((JSON.parse(live.stdout) as PreviewJson).accessTokens[0]!.claims));
    expect(bed.authorizer.seen.length).toBe(before);
  });

  it('usage errors exit 2 with a message: unknown client, malformed claims, a grant it cannot run, an unknown recorded request', async () => {
    const unknown = await preview(['--client', 'nobody', '--grant', 'client_credentials']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/no client nobody/);

    const bad = join(bed.dir, 'bad.json');
    writeFileSync(bad, '{"email": ');
    const malformed = await preview(['--client', 'web', '--claims', bad]);
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toMatch(/bad\.json/);

    const grant = await preview(['--client', 'web', '--claims', bad, '--grant', 'password']);
    expect(grant.status).toBe(2);
    expect(grant.stderr).toMatch(/--grant: one of authorization_code, refresh_token, client_credentials/);

    const recorded = await preview(['--client', 'service', '--grant', 'client_credentials', '--scope', 'orders:read', '--recorded', 'no-such-request']);
    expect(recorded.status).toBe(2);
    expect(recorded.stderr).toMatch(/no stored trace for request no-such-request/);
  });
});
