// examples/authorizer run as its own process against a local JWKS: it verifies Baton's JWT and
// grants per its policy file, through the real fan-out.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Authorizers, type DecisionRequest } from '../../../src/orchestration/authorizers/index.ts';
import { authorizerConfig, captureLogger, createSigner, ISSUER, memoryStore, testClock, type Signer } from './helpers.ts';

const SCRIPT = fileURLToPath(new URL('../../../examples/authorizer/authorizer.mjs', import.meta.url));

let signer: Signer;
let jwksServer: Server;
let child: ChildProcess;
let url: string;

beforeAll(async () => {
  signer = await createSigner();
  jwksServer = createServer((req, res) => {
    if (req.url === '/jwks') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [signer.publicJwk] }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  child = spawn(process.execPath, [SCRIPT], {
    env: { ...process.env, BATON_ISSUER: ISSUER, BATON_JWKS_URL: jwksUrl, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"event":"listening","url":"([^"]+)"/.exec(out);
      if (match) resolve(`${match[1]}/decide`);
    });
    child.once('exit', (code) => reject(new Error(`example authorizer exited with ${code}`)));
  });
});

afterAll(async () => {
  if (child?.pid !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    await exited;
  }
  await new Promise((resolve) => jwksServer?.close(resolve));
});

function fanout(id = 'orders') {
  const clock = testClock();
  return new Authorizers([authorizerConfig(id, url, { namespace: 'orders:' })], { sign: signer.sign, store: memoryStore(clock.now), logger: captureLogger().logger, clock: clock.now });
}

const request = (subject: string, scopes: string[]): DecisionRequest => ({ subject, clientId: 'web', grantType: 'authorization_code', scopes, claims: {} });

describe('examples/authorizer', () => {
  it('grants per its policy: alice read and write with claims, bob read only, carol nothing', async () => {
    const authorizers = fanout();
    const alice = await authorizers.decide(request('alice', ['openid', 'orders:read', 'orders:write']));
    expect(alice).toMatchObject({ scopes: ['openid', 'orders:read', 'orders:write'], claims: { orders: { region: 'eu', max_order_value: 5000 } } });
    const bob = await authorizers.decide(request('bob', ['openid', 'orders:read', 'orders:write']));
    expect(bob.scopes).toEqual(['openid', 'orders:read']);
    expect(bob.traces[0]).toMatchObject({ outcome: 'granted', granted: ['orders:read'] });
    const carol = await authorizers.decide(request('carol', ['openid', 'orders:read']));
    expect(carol.scopes).toEqual(['openid']);
    expect(carol.traces[0]).toMatchObject({ outcome: 'denied', reason: 'no orders access for this subject' });
    const service = await authorizers.decide({ ...request('orders-sync', ['orders:read', 'orders:write']), clientId: 'orders-sync', grantType: 'client_credentials' });
    expect(service.scopes).toEqual(['orders:read']);
  });

  it('refuses a JWT for another audience, from another key, or for another subject than the body', async () => {
    const wrongAudience = await fanout('billing').decide(request('alice', ['orders:read']));
    expect(wrongAudience.failed).toEqual({ authorizer: 'billing', reason: 'answered HTTP 401' });
    expect(wrongAudience.scopes).toEqual([]);

    const post = (jwt: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, body: JSON.stringify(body) });
    const other = await createSigner();
    expect((await post(await other.sign('orders', { sub: 'alice', client_id: 'web' }), { subject: 'alice', client_id: 'web', scopes: ['orders:read'] })).status).toBe(401);
    expect((await post(await signer.sign('orders', { sub: 'bob', client_id: 'web' }), { subject: 'alice', client_id: 'web', scopes: ['orders:read'] })).status).toBe(401);
    const ok = await post(await signer.sign('orders', { sub: 'alice', client_id: 'web' }), { subject: 'alice', client_id: 'web', scopes: ['orders:read'] });
    expect(await ok.json()).toEqual({ decision: 'grant', scopes: ['orders:read'], claims: { region: 'eu', max_order_value: 5000 } });
  });
});
