// `baton replay`, run as a process: the stored traces' requests decided again by a candidate
// configuration. A candidate whose authorizer policy or rules differ prints the exact differences
// and exits 1; an identical one exits 0; what cannot be replayed is skipped and counted; the traces
// are read from the live store (listRecordIds) or from a JSON lines file `--export` wrote.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { evaluate, type EvaluationRequest } from '../../src/explain/evaluate.ts';
import { createEvaluator, signingKeys } from '../../src/explain/evaluator.ts';
import { TRACE_KIND, type DecisionTrace } from '../../src/explain/trace.ts';
import { API, SCOPE, startBed, USERS, type Bed, runReplay } from './bed.ts';
import { startOrdersAuthorizer, type OrdersAuthorizer } from './fixtures/orders-authorizer.ts';

let bed: Bed;
let strict: OrdersAuthorizer;
let ids: Record<string, string>;

/**
 * The trace source: the live configuration's own evaluation of chosen requests (users no upstream
 * signs in, inputs replay must skip), stored through the Store as Baton stores traces (TRACE_KIND,
 * keyed by request id, with a TTL). Traces Baton recorded from real requests are replayed in
 * replay-recorded.test.ts.
 */
async function recordTraces(): Promise<Record<string, string>> {
  const config = bed.baton.config;
  const evaluator = await createEvaluator(config, { configDir: bed.dir, keys: (await signingKeys(config, bed.baton.baton.store))! });
  const user = (name: keyof typeof USERS) => ({ upstream: 'corp', upstreamSubject: USERS[name].username, claims: { ...USERS[name].claims } });
  const requests: Record<string, EvaluationRequest> = {
    alice: { clientId: 'web', grantType: 'authorization_code', scopes: SCOPE.split(' '), resources: [API], identity: user('alice') },
    aliceRefresh: { clientId: 'web', grantType: 'refresh_token', scopes: SCOPE.split(' '), resources: [API], identity: { ...user('alice'), attrs: { department: 'purchasing' } } },
    bob: { clientId: 'web', grantType: 'authorization_code', scopes: SCOPE.split(' '), resources: [API], identity: user('bob') },
    service: { clientId: 'service', grantType: 'client_credentials', scopes: ['orders:read', 'catalog:read'], resources: [API] },
    eve: { clientId: 'web', grantType: 'authorization_code', scopes: SCOPE.split(' '), resources: [API], identity: { upstream: 'corp', upstreamSubject: 'eve', claims: { email: 'eve@elsewhere.example', email_verified: true } } },
  };
  const stored: Record<string, string> = {};
  const put = async (name: string, trace: DecisionTrace) => {
    await bed.baton.baton.store.putRecord(TRACE_KIND, trace.requestId, trace, { expiresIn: 3600 });
    stored[name] = trace.requestId;
  };
  for (const [name, request] of Object.entries(requests)) await put(name, (await evaluate(evaluator, { ...request, requestId: `req-${name}` })).trace);
  // Inputs replay cannot use: a redacted claim, a grant it does not run.
  const alice = (await bed.baton.baton.store.getRecord<DecisionTrace>(TRACE_KIND, 'req-alice'))!.value;
  await put('redacted', { ...alice, requestId: 'req-redacted', identity: { ...alice.identity!, claims: { ...alice.identity!.claims, email: { redacted: true, digest: 'AAAAAAAAAAAAAAAA' } } } });
  await put('exchange', { ...alice, requestId: 'req-exchange', request: { ...alice.request, grantType: 'urn:ietf:params:oauth:grant-type:token-exchange' } });
  return stored;
}

beforeAll(async () => {
  bed = await startBed();
  strict = await startOrdersAuthorizer(bed.baton.url, []);
  ids = await recordTraces();
}, 60_000);
afterAll(async () => {
  await strict?.stop();
  await bed?.stop();
});

const replay = runReplay;

const SUMMARY_SKIPPED = '2 skipped (redacted inputs: 1; unsupported grant urn:ietf:params:oauth:grant-type:token-exchange: 1)';

describe('baton replay', () => {
  it('against an identical configuration: nothing changes, exit 0', async () => {
    const identical = bed.writeConfig('identical', (raw) => raw);
    const out = await replay(['--config', identical, '--from-store', bed.configFile]);
    expect(out.stderr).not.toMatch(/Error/);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(`5 replayed: 0 changed, 5 unchanged; ${SUMMARY_SKIPPED}`);
  });

  it('a candidate authorizer policy: the exact scopes and claims lost, per request, exit 1', async () => {
    const candidate = bed.writeConfig('strict-authorizer', (raw) => ({ ...raw, authorizers: [{ id: 'orders', url: strict.url, namespace: 'orders:', cacheTTL: 0 }] }));
    const out = await replay(['--config', candidate, '--from-store', bed.configFile]);
    expect(out.status).toBe(1);
    for (const id of [ids.alice, ids.aliceRefresh]) {
      const grant = id === ids.alice ? 'authorization_code' : 'refresh_token';
      expect(out.stdout).toContain([
        `${id}: ${grant} for client web, user corp:alice`,
        `  scopes lost at ${API}: orders:write`,
        `  claim orders (access_token ${API}): {"limit":5000} -> {"limit":0} (by authorizer:orders)`,
      ].join('\n'));
    }
    expect(out.stdout).not.toContain(`${ids.bob}:`);
    expect(out.stdout).toContain(`5 replayed: 2 changed, 3 unchanged; ${SUMMARY_SKIPPED}`);
    // The candidate's authorizer was really asked.
    expect(strict.seen.some((r) => r.claims.email === 'alice@example.org')).toBe(true);
  });

  it('candidate rules: a refusal appears for bob and disappears for eve, exit 1; --json says the same', async () => {
    const candidate = bed.writeConfig('rules', (raw) => ({
      ...raw,
      clients: (raw.clients as Array<Record<string, unknown>>).map((c) => c.client_id !== 'web' ? c : {
        ...c, rules: [{ deny: { claim: { name: 'email', equals: 'bob@example.org' } }, reason: 'bob moved to another team' }, { allow: { emailDomain: ['example.org', 'elsewhere.example'] } }],
      }),
    }));
    const out = await replay(['--config', candidate, '--from-store', bed.configFile]);
    expect(out.status).toBe(1);
    expect(out.stdout).toContain(`${ids.bob}: authorization_code for client web, user corp:bob\n  refusal appears: access_denied: bob moved to another team (by rules)`);
    expect(out.stdout).toContain(`${ids.eve}: authorization_code for client web, user corp:eve\n  refusal disappears: was access_denied, now issued`);
    expect(out.stdout).toContain(`5 replayed: 2 changed, 3 unchanged; ${SUMMARY_SKIPPED}`);

    const json = JSON.parse((await replay(['--config', candidate, '--from-store', bed.configFile, '--json'])).stdout) as { results: Array<{ requestId: string; status: string; changes?: Array<{ kind: string }> }>; summary: { changed: number } };
    expect(json.summary.changed).toBe(2);
    expect(json.results.find((r) => r.requestId === ids.bob)?.changes).toEqual([expect.objectContaining({ kind: 'refusal-appears', error: 'access_denied', by: 'rules' })]);
  });

  it('a candidate that narrows the upstream\'s email domains: sign-ins and the refresh are refused as the live endpoints would refuse them', async () => {
    const candidate = bed.writeConfig('email-domains', (raw) => ({
      ...raw,
      upstreams: (raw.upstreams as Array<Record<string, unknown>>).map((u) => ({ ...u, emailDomains: ['elsewhere.example'] })),
    }));
    const out = await replay(['--config', candidate, '--from-store', bed.configFile]);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(new RegExp(`${ids.alice}: authorization_code for client web, user corp:alice\n  refusal appears: access_denied: accounts of example.org cannot sign in here \\(by upstream\\)`));
    // The token endpoint decides a refresh again (provider/token-claims.ts): refused with invalid_grant.
    expect(out.stdout).toMatch(new RegExp(`${ids.aliceRefresh}: refresh_token for client web, user corp:alice\n  refusal appears: invalid_grant: accounts of example.org cannot sign in here \\(by upstream\\)`));
    expect(out.stdout).toContain(`5 replayed: 3 changed, 2 unchanged; ${SUMMARY_SKIPPED}`);
  });

  it('a candidate without the upstream the refresh\'s account signed in with: the refresh is refused (fail closed)', async () => {
    const candidate = bed.writeConfig('web-other-upstream', (raw) => ({
      ...raw,
      clients: (raw.clients as Array<Record<string, unknown>>).map((c) => c.client_id !== 'web' ? c : { ...c, upstreams: ['partner'] }),
      upstreams: [...(raw.upstreams as Array<Record<string, unknown>>), { ...(raw.upstreams as Array<Record<string, unknown>>)[0], id: 'partner' }],
    }));
    const out = await replay(['--config', candidate, '--from-store', bed.configFile, '--user', 'corp:alice']);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(new RegExp(`${ids.aliceRefresh}: refresh_token for client web, user corp:alice\n  refusal appears: invalid_grant: this application does not accept accounts of this identity provider \\(by client\\)`));
  });

  it('a candidate without the upstream at all: alice\'s sign-in and refresh are refused, never evaluated as if it were there', async () => {
    const candidate = bed.writeConfig('upstream-renamed', (raw) => ({
      ...raw,
      clients: (raw.clients as Array<Record<string, unknown>>).map(({ upstreams: _upstreams, ...c }) => c),
      upstreams: (raw.upstreams as Array<Record<string, unknown>>).map((u) => ({ ...u, id: 'partner' })),
    }));
    const out = await replay(['--config', candidate, '--from-store', bed.configFile, '--user', 'corp:alice']);
    expect(out.status).toBe(1);
    expect(out.stdout).toContain(`${ids.alice}: authorization_code for client web, user corp:alice\n  refusal appears: access_denied: the identity provider of this account is no longer configured (by client)`);
    expect(out.stdout).toContain(`${ids.aliceRefresh}: refresh_token for client web, user corp:alice\n  refusal appears: invalid_grant: the identity provider of this account is no longer configured (by client)`);
  });

  it('filters by client, user and time window', async () => {
    const candidate = bed.writeConfig('strict-authorizer-2', (raw) => ({ ...raw, authorizers: [{ id: 'orders', url: strict.url, namespace: 'orders:', cacheTTL: 0 }] }));
    const service = await replay(['--config', candidate, '--from-store', bed.configFile, '--client', 'service']);
    expect(service.status).toBe(0);
    expect(service.stdout).toContain('1 replayed: 0 changed, 1 unchanged; 0 skipped');
    const bob = await replay(['--config', candidate, '--from-store', bed.configFile, '--user', 'corp:bob']);
    expect(bob.status).toBe(0);
    expect(bob.stdout).toContain('1 replayed: 0 changed, 1 unchanged; 0 skipped');
    const future = await replay(['--config', candidate, '--from-store', bed.configFile, '--since', new Date(Date.now() + 3_600_000).toISOString()]);
    expect(future.status).toBe(0);
    expect(future.stdout).toContain('0 replayed: 0 changed, 0 unchanged; 0 skipped');
  });

  it('--export writes the stored traces as JSON lines; --traces replays the file as the store', async () => {
    const file = join(bed.dir, 'traces.jsonl');
    const exported = await replay(['--from-store', bed.configFile, '--export', file]);
    expect(exported.status).toBe(0);
    expect(exported.stdout).toContain('exported 7 traces');
    const candidate = bed.writeConfig('strict-authorizer-3', (raw) => ({ ...raw, authorizers: [{ id: 'orders', url: strict.url, namespace: 'orders:', cacheTTL: 0 }] }));
    const out = await replay(['--config', candidate, '--traces', file]);
    expect(out.status).toBe(1);
    expect(out.stdout).toContain(`5 replayed: 2 changed, 3 unchanged; ${SUMMARY_SKIPPED}`);
  });

  it('usage and configuration errors exit 2: no trace source, two sources, a malformed file, an invalid candidate', async () => {
    const identical = bed.writeConfig('identical-2', (raw) => raw);
    const none = await replay(['--config', identical]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--from-store LIVE\.yaml or --traces FILE\.jsonl/);

    const file = join(bed.dir, 'broken.jsonl');
    writeFileSync(file, '{"v":1,"requestId":"x"}\nnot json\n');
    const both = await replay(['--config', identical, '--from-store', bed.configFile, '--traces', file]);
    expect(both.status).toBe(2);
    const broken = await replay(['--config', identical, '--traces', file]);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/broken\.jsonl:1: not a decision trace/);

    const invalid = bed.writeConfig('invalid', (raw) => ({ ...raw, clients: 'nope' }));
    const bad = await replay(['--config', invalid, '--from-store', bed.configFile]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/clients/);
  });
});
