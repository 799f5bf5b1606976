// A 10 MB body on a passthrough endpoint (token, revoke), declared or streamed in chunks: a JSON
// OAuth error (413 invalid_request), no stack trace on the console, and the instance keeps serving.
// The request stream is never destroyed under the access log, which used to turn this into Koa's
// plain-text 500 and a printed TypeError.
import { request } from 'node:http';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { startBaton, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

let upstream: FakeUpstream;
let baton: RunningBaton;
const consoleErrors = vi.spyOn(console, 'error');

beforeAll(async () => {
  upstream = await startFakeUpstream();
  baton = await startBaton({
    upstreams: [{ id: 'idp', issuer: upstream.issuer, clientId: 'baton', clientSecret: 'unused-here-0123456789' }],
    passthrough: [{ id: 'app', upstream: 'idp', clients: ['app'] }],
  });
});
afterAll(async () => {
  await baton?.stop();
  await upstream?.stop();
  consoleErrors.mockRestore();
});
afterEach(() => consoleErrors.mockClear());

const TEN_MB = 10 * 1024 * 1024;

/** POSTs `size` bytes of form body, with Content-Length or chunked; resolves what came back (or the connection error once answered). */
function post(path: string, size: number, chunked: boolean): Promise<{ status: number; type?: string; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${baton.url}${path}`);
    const headers: Record<string, string | number> = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('app', 'app-secret-at-the-upstream-0123') };
    if (!chunked) headers['content-length'] = size;
    const req = request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text }));
      res.on('error', reject);
    });
    req.on('error', () => undefined); // the server may close while we still write: the answer is what counts
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    req.write('grant_type=refresh_token&refresh_token=');
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('bounded request bodies on passthrough endpoints', () => {
  it.each([
    ['/passthrough/app/token', false], ['/passthrough/app/token', true],
    ['/passthrough/app/revoke', false], ['/passthrough/app/revoke', true],
  ] as const)('%s, chunked: %s: 413 invalid_request as JSON, nothing printed', async (path, chunked) => {
    const res = await post(path, TEN_MB, chunked);
    expect(res.status).toBe(413);
    expect(res.type).toMatch(/^application\/json/);
    expect(JSON.parse(res.text)).toEqual({ error: 'invalid_request', error_description: 'the request body is larger than 64 KiB' });
    expect(consoleErrors).not.toHaveBeenCalled();
    // Still serving.
    const next = await postForm(`${baton.url}/passthrough/app/token`, 'grant_type=password', { authorization: basic('app', 'x') });
    expect(next.json.error).toBe('unsupported_grant_type');
  });

  it('a body within the bound is read as before', async () => {
    const res = await postForm(`${baton.url}/passthrough/app/token`, `grant_type=nope&pad=${'x'.repeat(60_000)}`, { authorization: basic('app', 'x') });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('unsupported_grant_type');
  });
});
