// The wire format on its own: reading an answer with and without a declared length (bounded,
// UTF-8 only) and the exact checks that turn an answer into a decision.
import { describe, expect, it } from 'vitest';

import { MAX_ANSWER_BYTES, parseAnswer, readBounded, requestBody } from '../../../src/orchestration/authorizers/protocol.ts';
import type { RawAnswer } from '../../../src/orchestration/authorizers/transport.ts';

/** An answer whose body arrives in chunks, with no content-length (chunked transfer). */
function chunked(chunks: Uint8Array[], contentLength?: number): RawAnswer & { discarded: boolean } {
  const answer = {
    status: 200,
    ...(contentLength === undefined ? {} : { contentLength }),
    discarded: false,
    body: (async function* () { yield* chunks; })(),
    discard: async () => { answer.discarded = true; },
  };
  return answer;
}

describe('readBounded', () => {
  it('reads a chunked body under the limit and refuses one over it', async () => {
    expect(await readBounded(chunked([Buffer.from('{"decision":'), Buffer.from('"grant"}')]))).toBe('{"decision":"grant"}');
    const big = chunked(Array.from({ length: 5 }, () => new Uint8Array(64 * 1024).fill(0x20)));
    await expect(readBounded(big)).rejects.toMatchObject({ reason: `invalid answer: larger than ${MAX_ANSWER_BYTES} bytes` });
    expect(big.discarded).toBe(true);
  });

  it('refuses a declared length over the limit and bytes that are not UTF-8', async () => {
    const declared = chunked([Buffer.from('{}')], MAX_ANSWER_BYTES + 1);
    await expect(readBounded(declared)).rejects.toMatchObject({ reason: `invalid answer: larger than ${MAX_ANSWER_BYTES} bytes` });
    expect(declared.discarded).toBe(true);
    await expect(readBounded(chunked([new Uint8Array([0x7b, 0xff, 0x7d])]))).rejects.toMatchObject({ reason: 'invalid answer: not UTF-8' });
  });
});

describe('parseAnswer', () => {
  const asked = ['orders:read', 'orders:write'];

  it('keeps only requested scopes, in request order, and reports the rest as dropped', () => {
    expect(parseAnswer(JSON.stringify({ decision: 'grant', scopes: ['orders:write', 'admin', 'orders:read', 'orders:write'] }), asked))
      .toEqual({ decision: 'grant', granted: ['orders:read', 'orders:write'], dropped: ['admin'], claims: {}, reason: undefined });
    expect(parseAnswer('{"decision":"grant","scopes":[]}', asked)).toMatchObject({ granted: [], dropped: [] });
  });

  it('grants nothing and adds no claims on deny, whatever else the answer says', () => {
    expect(parseAnswer(JSON.stringify({ decision: 'deny', scopes: asked, claims: { a: 1 }, reason: 'x'.repeat(500) }), asked))
      .toEqual({ decision: 'deny', granted: [], dropped: [], claims: {}, reason: 'x'.repeat(200) });
  });

  it('ignores unknown members and keeps nested JSON claims', () => {
    expect(parseAnswer('{"decision":"grant","ttl":5,"claims":{"limits":{"max":[1,2]},"ok":null}}', asked).claims).toEqual({ limits: { max: [1, 2] }, ok: null });
  });
});

describe('requestBody', () => {
  it('omits what is absent', () => {
    const body = requestBody({ subject: 's', clientId: 'c', grantType: 'client_credentials', scopes: ['orders:read', 'x'], claims: {} }, ['orders:read']);
    expect(JSON.parse(JSON.stringify(body))).toEqual({ subject: 's', client_id: 'c', grant_type: 'client_credentials', scopes: ['orders:read'], claims: {} });
  });
});
