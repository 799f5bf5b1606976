// `baton replay` over traces Baton recorded from real requests (explain on): real sign-ins through a
// real upstream OP, a refresh, client_credentials (the lean token path), and a sign-in the rules
// refuse. Decided again by an identical configuration nothing changes (the recorder at the token
// endpoint and the offline evaluation agree, claim by claim); by a candidate authorizer policy the
// exact scopes and claims lost are printed and the exit status is 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { storedValue } from '../../src/explain/trace-pages-read.ts';
import { storedTraces } from '../../src/explain/trace-source.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { TEST_ENV } from '../helpers/baton.ts';
import { API, startBed, type Bed, runReplay } from './bed.ts';
import { startOrdersAuthorizer, type OrdersAuthorizer } from './fixtures/orders-authorizer.ts';

let bed: Bed;
let strict: OrdersAuthorizer;
const tokenRequests: string[] = [];

beforeAll(async () => {
  bed = await startBed({ explain: { enabled: true } });
  strict = await startOrdersAuthorizer(bed.baton.url, []);
  const alice = await bed.signIn('alice');
  await bed.signIn('bob');
  expect(alice.refresh_token).toBeDefined();
  const refreshed = await postForm(`${bed.baton.url}/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: alice.refresh_token! }), { authorization: basic('web', TEST_ENV.WEB_SECRET) });
  expect(refreshed.status).toBe(200);
  tokenRequests.push(refreshed.headers.get('x-request-id')!);
  const service = await postForm(`${bed.baton.url}/token`, new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'orders:read catalog:read' }), { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
  expect(service.status).toBe(200);
  tokenRequests.push(service.headers.get('x-request-id')!);
  // The rules allow example.org only: this sign-in is refused (traced as a refusal).
  await expect(bed.signIn('outsider')).rejects.toThrow();
  // Traces are stored after the response, in the background (batched): wait for the token
  // requests' traces and the refusal's.
  const store = bed.baton.baton.store;
  const refusalStored = async () => (await storedTraces(store)).some((trace) => trace.result.outcome === 'refused');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !((await Promise.all(tokenRequests.map((id) => storedValue(store, id)))).every(Boolean) && (await refusalStored()))) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 120_000);
afterAll(async () => {
  await strict?.stop();
  await bed?.stop();
});

const replay = runReplay;

describe('baton replay over recorded traces', () => {
  it('recorded what was decided: sign-ins, code redemptions, the refresh, client_credentials, the refusal', async () => {
    const traces = await storedTraces(bed.baton.baton.store);
    const grants = traces.map((t) => `${t.request.endpoint}:${t.request.grantType ?? ''}:${t.result.outcome}`);
    expect(grants).toEqual(expect.arrayContaining(['token:authorization_code:issued', 'token:refresh_token:issued', 'token:client_credentials:issued', 'authorization::refused']));
  });

  it('against an identical configuration: nothing changes, exit 0', async () => {
    const out = await replay(['--config', bed.writeConfig('identical', (raw) => raw), '--from-store', bed.configFile]);
    expect(out.stderr).not.toMatch(/Error/);
    expect(out.stdout).toMatch(/\d+ replayed: 0 changed/);
    expect(out.stdout).not.toMatch(/^0 replayed/m);
    expect(out.status).toBe(0);
  });

  it('against a stricter authorizer: alice loses orders:write in her code redemption and her refresh, exit 1', async () => {
    const candidate = bed.writeConfig('strict', (raw) => ({ ...raw, authorizers: [{ id: 'orders', url: strict.url, namespace: 'orders:', cacheTTL: 0 }] }));
    const out = await replay(['--config', candidate, '--from-store', bed.configFile]);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/: authorization_code for client web, user corp:alice\n {2}scopes lost at https:\/\/orders\.api\.example: orders:write/);
    expect(out.stdout).toMatch(/: refresh_token for client web, user corp:alice\n {2}scopes lost at https:\/\/orders\.api\.example: orders:write/);
    expect(out.stdout).not.toMatch(/user corp:bob\n/);
  });
});
