// Regression: the issuer root `/` answered a bare Not Found. It is now a small page naming the
// issuer and linking its discovery document, with the pages' security headers; `/favicon.ico` exists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { standardConfig } from '../fixtures/standard.ts';
import { startBaton, type RunningBaton } from '../helpers/baton.ts';

let baton: RunningBaton;
beforeAll(async () => {
  baton = await startBaton(standardConfig);
});
afterAll(() => baton.stop());

describe('the issuer root', () => {
  it('is a page naming the issuer and linking discovery, framed by nobody', async () => {
    const res = await fetch(`${baton.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const text = await res.text();
    expect(text).toContain(`<code>${baton.url}</code>`);
    expect(text).toContain(`href="${baton.url}/.well-known/openid-configuration"`);
    expect(text).toContain('docs/operations.md');
  });

  it('serves a favicon', async () => {
    const res = await fetch(`${baton.url}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await res.text()).toMatch(/^<svg /);
  });

  it('leaves other unknown paths and methods a Not Found', async () => {
    expect((await fetch(`${baton.url}/nothing-here`)).status).toBe(404);
    expect((await fetch(`${baton.url}/`, { method: 'POST' })).status).toBe(404);
  });
});
