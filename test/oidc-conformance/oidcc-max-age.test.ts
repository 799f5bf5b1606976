// Mirrors `oidcc-max-age-1` and `oidcc-max-age-10000` (OIDC Core section 3.1.2.1): Baton owns
// max_age toward its clients. A Baton session older than max_age=1 sends the user to sign in again at
// the upstream with prompt=login (never max_age=1, which no real IdP's login can satisfy), and the
// id_token's auth_time is that new authentication's; max_age=10000 reuses the session with its
// auth_time. An upstream that reuses its session despite prompt=login is refused (login_required).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorize, CookieAgent, redeem, startCertification, suiteRp, type Certification } from './certification.ts';

let cert: Certification;
beforeAll(async () => {
  cert = await startCertification();
});
afterAll(() => cert?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('oidcc-max-age-1', () => {
  it('a second authorization with max_age=1 two seconds later signs in at the upstream again, with a later auth_time', async () => {
    const agent = new CookieAgent();
    const rp = await suiteRp(cert.baton.url);
    const first = await redeem(rp, await authorize(cert.baton.url, {}, agent));
    await sleep(2100);
    const requestsBefore = cert.idp.authorizeRequests.length;
    const second = await authorize(cert.baton.url, { max_age: '1' }, agent);
    expect(second.upstreamLogins).toBe(1);
    const upstreamRequest = cert.idp.authorizeRequests[requestsBefore]!;
    expect(upstreamRequest.get('prompt')).toBe('login');
    expect(upstreamRequest.has('max_age')).toBe(false);

    const claims = (await redeem(rp, second)).claims()!;
    const now = Math.floor(Date.now() / 1000);
    expect(claims.auth_time).toEqual(expect.any(Number));
    expect(claims.auth_time!).toBeGreaterThan(first.claims()!.auth_time ?? first.claims()!.iat);
    expect(now - claims.auth_time!).toBeLessThanOrEqual(5);
  });

  it('max_age=1 without a Baton session: one upstream sign-in with prompt=login, no loop', async () => {
    const requestsBefore = cert.idp.authorizeRequests.length;
    const authorized = await authorize(cert.baton.url, { max_age: '1' });
    expect(authorized.callback.searchParams.get('error')).toBeNull();
    expect(authorized.upstreamLogins).toBe(1);
    expect(cert.idp.authorizeRequests.length).toBe(requestsBefore + 1);
    expect((await redeem(await suiteRp(cert.baton.url), authorized)).claims()!.auth_time).toEqual(expect.any(Number));
  });
});

describe('oidcc-max-age-10000', () => {
  it('max_age=10000 reuses the Baton session (no upstream request) and issues its auth_time', async () => {
    const agent = new CookieAgent();
    const rp = await suiteRp(cert.baton.url);
    const first = await authorize(cert.baton.url, { max_age: '10000' }, agent);
    const firstAuthTime = (await redeem(rp, first)).claims()!.auth_time;
    expect(firstAuthTime).toEqual(expect.any(Number));
    const requestsBefore = cert.idp.authorizeRequests.length;
    const second = await authorize(cert.baton.url, { max_age: '10000' }, agent);
    expect(cert.idp.authorizeRequests.length).toBe(requestsBefore);
    expect(second.upstreamLogins).toBe(0);
    expect((await redeem(rp, second)).claims()!.auth_time).toBe(firstAuthTime);
  });

  it('a long max_age is forwarded to the upstream as is when Baton has no session', async () => {
    const requestsBefore = cert.idp.authorizeRequests.length;
    await authorize(cert.baton.url, { max_age: '10000' });
    const upstreamRequest = cert.idp.authorizeRequests[requestsBefore]!;
    expect(upstreamRequest.get('max_age')).toBe('10000');
    expect(upstreamRequest.has('prompt')).toBe(false);
  });
});

describe('an upstream that ignores prompt=login', () => {
  let lax: Certification;
  beforeAll(async () => {
    lax = await startCertification({ upstreamOptions: { ignoreReauthentication: true } });
  });
  afterAll(() => lax?.stop());

  it('reusing its session for max_age=1 is refused with login_required: its auth_time is not fresh', async () => {
    const agent = new CookieAgent();
    await authorize(lax.baton.url, {}, agent);
    await sleep(32_000);
    const second = await authorize(lax.baton.url, { max_age: '1' }, agent);
    expect(second.upstreamLogins).toBe(0);
    expect(second.callback.searchParams.get('error')).toBe('login_required');
    expect(second.callback.searchParams.get('state')).toBe(second.state);
    expect(second.callback.searchParams.has('code')).toBe(false);
  }, 60_000);
});
