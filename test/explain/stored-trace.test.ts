// The stored form of a trace (claims grouped per token) and the off-heap queue of waiting traces:
// what is stored reads back as exactly the trace the recorder holds, records of the earlier form
// still read, anything else is refused; the queue keeps every byte of every entry, in order.
import { describe, expect, it } from 'vitest';

import { TraceRecorder } from '../../src/explain/recorder.ts';
import { referenceJson, STORED_TRACE_VERSION, storedForm, traceFromStored } from '../../src/explain/stored-trace.ts';
import { TraceBuffer } from '../../src/explain/trace-buffer.ts';
import { TRACE_VERSION } from '../../src/explain/trace.ts';

/** A sign-in's trace: an id_token, two access tokens, a refusal-free result, a redacted claim, claims without value. */
function recorded(): TraceRecorder {
  const redact = (name: string, value: unknown) => (name === 'email' ? { redacted: true as const, digest: 'AAAAAAAAAAAAAAAA' } : value);
  const recorder = new TraceRecorder('01a24c8d-aec6-7c02-8da2-c3aa07730dcf', 1_796_580_683_462, redact);
  recorder.request({ endpoint: 'token', clientId: 'web', grantType: 'authorization_code', resources: ['https://api.example', 'https://orders.example'], scopes: ['openid', 'orders:read'] });
  recorder.identity({ sub: 'u-1', upstream: 'corp', claims: { email: 'bob@example.org', name: 'Bob' } });
  recorder.step({ kind: 'rules', effect: 'allow', rule: 0 });
  recorder.scope({ scope: 'orders:read', resource: 'https://orders.example', granted: true, by: 'authorizer:orders' });
  recorder.claim({ token: 'id_token', claim: 'sub', by: 'baton', value: 'u-1' });
  recorder.claim({ token: 'access_token', resource: 'https://orders.example', claim: 'jti', by: 'baton', value: 'never-kept' });
  recorder.claim({ token: 'access_token', resource: 'https://orders.example', claim: 'tier', by: 'authorizer:orders', value: ['gold', 1, null, { nested: true }] });
  recorder.claim({ token: 'id_token', claim: 'email', by: 'upstream', value: 'bob@example.org' });
  recorder.claim({ token: 'access_token', resource: 'https://api.example', claim: 'scope', by: 'baton', value: 'openid' });
  // A later origin of the same claim replaces the earlier one, in place.
  recorder.claim({ token: 'access_token', resource: 'https://orders.example', claim: 'tier', by: 'hook:buildAccessTokenClaims', value: 'platinum' });
  recorder.claim({ token: 'id_token', claim: '123', by: 'upstream', value: 'numeric-looking name' });
  return recorder;
}

describe('the stored form of a trace', () => {
  it('groups the claims per token and resource, in the order first recorded, and reads back as the trace itself', () => {
    const recorder = recorded();
    const stored = recorder.toStored();
    expect(stored.v).toBe(STORED_TRACE_VERSION);
    expect(stored.result.tokens).toStrictEqual([
      { token: 'id_token', claims: [['sub', 'baton', 'u-1'], ['email', 'upstream', { redacted: true, digest: 'AAAAAAAAAAAAAAAA' }], ['123', 'upstream', 'numeric-looking name']] },
      { token: 'access_token', resource: 'https://orders.example', claims: [['jti', 'baton'], ['tier', 'hook:buildAccessTokenClaims', 'platinum']] },
      { token: 'access_token', resource: 'https://api.example', claims: [['scope', 'baton', 'openid']] },
    ]);
    // What the store gives back (JSON) is the DecisionTrace the recorder holds, claim for claim.
    expect(traceFromStored(JSON.parse(JSON.stringify(stored)))).toStrictEqual(recorder.toTrace());
    // The same stored form whether built by the recorder or from its trace (TraceStore.enqueue/put of a DecisionTrace).
    expect(storedForm(recorder.toTrace())).toStrictEqual(stored);
    expect(JSON.stringify(stored).length).toBeLessThan(JSON.stringify(recorder.toTrace()).length);
  });

  it('keeps no value for per-token claims, and the redacted value only', () => {
    const text = JSON.stringify(recorded().toStored());
    expect(text).not.toContain('never-kept');
    expect(text).not.toContain('bob@example.org');
  });

  it('a record of the earlier form (the DecisionTrace itself) still reads', () => {
    const trace = recorded().toTrace();
    expect(trace.v).toBe(TRACE_VERSION);
    expect(traceFromStored(JSON.parse(JSON.stringify(trace)))).toStrictEqual(trace);
  });

  it('refuses what is not a trace of a known form', () => {
    const stored = JSON.parse(JSON.stringify(recorded().toStored())) as Record<string, unknown>;
    expect(traceFromStored({ ...stored, v: 3 })).toBeUndefined();
    expect(traceFromStored({ ...stored, result: { outcome: 'issued', scopes: [] } })).toBeUndefined();
    expect(traceFromStored({ ...stored, requestId: 42 })).toBeUndefined();
    expect(traceFromStored({ ...stored, request: null })).toBeUndefined();
    for (const value of [null, 'trace', 1, [], {}]) expect(traceFromStored(value)).toBeUndefined();
    // A malformed claims part reads as no trace (never a throw: the explain endpoint answers 404, not 500).
    const result = stored.result as Record<string, unknown>;
    for (const tokens of [[null], ['x'], [{ token: 'access_token' }], [{ token: 'access_token', claims: [null] }], [{ token: 'access_token', claims: [['sub']] }], [{ token: 1, claims: [] }], [{ token: 'access_token', resource: 5, claims: [] }]]) {
      expect(() => traceFromStored({ ...stored, result: { ...result, tokens } })).not.toThrow();
      expect(traceFromStored({ ...stored, result: { ...result, tokens } })).toBeUndefined();
    }
  });
});

describe('the lean path carries its recorder on the request context', () => {
  it('inside oidc-provider\'s store the recorder is the current trace; a copy of the state does not carry it', async () => {
    const { default: providerContext } = await import('oidc-provider/lib/helpers/als.js');
    const { currentTrace, traceOfContext, traceOnContext } = await import('../../src/explain/trace-context.ts');
    const recorder = new TraceRecorder('req-1', 0);
    const ctx = { state: { requestId: 'req-1' } };
    traceOnContext(ctx, recorder);
    expect(traceOfContext(ctx)).toBe(recorder);
    expect(currentTrace()).toBeUndefined();
    expect(await providerContext.run(ctx, async () => { await Promise.resolve(); return currentTrace(); })).toBe(recorder);
    // Another request's context, concurrently: its own (no) trace.
    expect(await providerContext.run({ state: {} }, async () => currentTrace())).toBeUndefined();
    expect(traceOfContext({ state: { ...ctx.state } })).toBeUndefined();
  });
});

describe('TraceBuffer', () => {
  it('gives back every entry byte for byte, with whether its id was issued, in order, across growth; multibyte text included', () => {
    const buffer = new TraceBuffer(16);
    const entries = Array.from({ length: 300 }, (_, i) => ({ id: `req-${i}`, json: JSON.stringify({ i, text: 'ü ✓ 𝄞 '.repeat(i % 7), quote: '"\\' }), issuedId: i % 3 === 0 }));
    for (const { id, json, issuedId } of entries) buffer.push(id, json, issuedId);
    expect(buffer.count).toBe(300);
    expect([...buffer.entries()]).toStrictEqual(entries);
  });

  it('ids of any text: ASCII is written as it is checked, anything else (at any place, or longer than 64) as UTF-8, references too', () => {
    const ids = ['ü-first', 'last-ü', 'mid-✓-dle', '𝄞', 'a'.repeat(65), `${'b'.repeat(63)}é`, 'c'.repeat(64), '', '01a24c8d-aec6-7c02-8da2-c3aa07730dcf'];
    // A small buffer, so that an id that turns out not to be ASCII is written again after growing.
    const buffer = new TraceBuffer(4);
    const body = buffer.addBody('{"v":2}');
    ids.forEach((id, i) => (i % 2 === 0 ? buffer.push(id, `{"i":${i}}`, true) : buffer.pushReference(id, 1_000 + i, body)));
    const offsets = buffer.offsets();
    expect(offsets.map((offset) => buffer.id(offset))).toStrictEqual(ids);
    offsets.forEach((offset, i) => {
      expect(buffer.issued(offset)).toBe(i % 2 === 0);
      if (i % 2 === 0) expect(buffer.entry(offset).json).toBe(`{"i":${i}}`);
      else expect([buffer.body(offset), buffer.time(offset)]).toStrictEqual([body, 1_000 + i]);
    });
    for (const [i, id] of ids.entries()) if (i % 2 === 0 && id !== '') expect(buffer.find(id)).toBe(`{"i":${i}}`);
  });

  it('find answers the first entry under an id, and nothing for an absent one or a prefix of an id', () => {
    const buffer = new TraceBuffer(8);
    buffer.push('a', '"first"');
    buffer.push('ab', '"other"');
    buffer.push('a', '"second"');
    expect(buffer.find('a')).toBe('"first"');
    expect(buffer.find('ab')).toBe('"other"');
    expect(buffer.find('abc')).toBeUndefined();
    expect(buffer.find('')).toBeUndefined();
  });

  it('clear empties it for reuse', () => {
    const buffer = new TraceBuffer(8);
    buffer.push('a', '1');
    buffer.clear();
    expect(buffer.count).toBe(0);
    expect([...buffer.entries()]).toStrictEqual([]);
    expect(buffer.find('a')).toBeUndefined();
    buffer.push('b', '2');
    expect([...buffer.entries()]).toStrictEqual([{ id: 'b', json: '2', issuedId: false }]);
  });

  it('gives back the memory a burst grew it to once emptied; keeps a small buffer for reuse', () => {
    const buffer = new TraceBuffer(1024);
    for (let i = 0; i < 2000; i++) buffer.push(`req-${i}`, JSON.stringify({ pad: 'x'.repeat(1000) }));
    expect(buffer.capacity).toBeGreaterThan(1024 * 1024);
    buffer.clear();
    expect(buffer.capacity).toBe(1024);
    buffer.push('a', '1');
    buffer.clear();
    expect(buffer.capacity).toBe(1024);
    expect([...buffer.entries()]).toStrictEqual([]);
  });

  it('holds a reference as its id, time and body: read back as the reference record, the body under its own id', () => {
    const buffer = new TraceBuffer(8);
    const body = buffer.addBody('{"v":2,"requestId":"model"}');
    const other = buffer.addBody('{"v":2,"requestId":"other"}');
    buffer.push('model', '{"v":2,"requestId":"model"}', true);
    buffer.pushReference('0193c1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b', 1_796_580_683_462, body, true);
    buffer.pushReference('proxy-ü', 12.5, other);
    const [first, second] = buffer.bodies;
    expect(first!.id).toMatch(/^~[0-9a-f-]{36}$/);
    expect(second!.id).not.toBe(first!.id);
    expect([...buffer.entries()]).toStrictEqual([
      { id: 'model', json: '{"v":2,"requestId":"model"}', issuedId: true },
      { id: '0193c1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b', json: referenceJson('0193c1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b', 1_796_580_683_462, first!.id), issuedId: true },
      { id: 'proxy-ü', json: referenceJson('proxy-ü', 12.5, second!.id), issuedId: false },
    ]);
    expect(buffer.offsets().map((offset) => buffer.body(offset))).toEqual([-1, 0, 1]);
    expect(buffer.find('proxy-ü')).toBe(referenceJson('proxy-ü', 12.5, second!.id));
    expect(second!.json).toBe('{"v":2,"requestId":"other"}');
    const before = buffer.bodies;
    buffer.clear();
    expect(buffer.bodies).toEqual([]);
    // A reader that took the bodies before still has them (TraceStore.get across a write's end).
    expect(before).toHaveLength(2);
  });

  it('refuses an id longer than its length field', () => {
    expect(() => new TraceBuffer().push('x'.repeat(70_000), '1')).toThrow(RangeError);
  });
});
