// Mirrors `oidcc-prompt-login`, `oidcc-prompt-none-not-logged-in` and `oidcc-prompt-none-logged-in`
// (OIDC Core section 3.1.2.1): prompt=login signs the user in again at the upstream (prompt=login
// sent there) with a later auth_time; prompt=none without a session is login_required at the
// redirect_uri, and with one it is a code without any page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorize, CookieAgent, redeem, startCertification, suiteRp, type Certification } from './certification.ts';

let cert: Certification;
beforeAll(async () => {
  cert = await startCertification();
});
afterAll(() => cert?.stop());

describe('prompt', () => {
  it('oidcc-prompt-login: a second sign-in at the upstream, later auth_time', async () => {
    const agent = new CookieAgent();
    const rp = await suiteRp(cert.baton.url);
    const first = (await redeem(rp, await authorize(cert.baton.url, { prompt: 'login' }, agent))).claims()!;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = cert.idp.authorizeRequests.length;
    const second = await authorize(cert.baton.url, { prompt: 'login' }, agent);
    expect(second.upstreamLogins).toBe(1);
    expect(cert.idp.authorizeRequests[before]!.get('prompt')).toBe('login');
    const claims = (await redeem(rp, second)).claims()!;
    expect(claims.auth_time!).toBeGreaterThan(first.auth_time!);
  });

  it('oidcc-prompt-none-not-logged-in: login_required at the redirect_uri, with the state', async () => {
    const before = cert.idp.authorizeRequests.length;
    const { callback, state } = await authorize(cert.baton.url, { prompt: 'none' });
    expect(callback.searchParams.get('error')).toBe('login_required');
    expect(callback.searchParams.get('state')).toBe(state);
    expect(cert.idp.authorizeRequests.length).toBe(before);
  });

  it('oidcc-prompt-none-logged-in: a code without a page, same subject', async () => {
    const agent = new CookieAgent();
    const rp = await suiteRp(cert.baton.url);
    await authorize(cert.baton.url, {}, agent);
    const again = await authorize(cert.baton.url, { prompt: 'none' }, agent);
    expect(again.upstreamLogins).toBe(0);
    expect((await redeem(rp, again)).claims()!.sub).toBe('corp:ann');
  });
});
