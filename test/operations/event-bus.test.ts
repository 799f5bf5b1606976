// The in-process event bus (src/observability/events.ts): a subscriber may name the event types it
// wants, and emitters ask `wants(type)` before building an event (decoding the token, hashing its
// references), so a Baton whose only subscriber counts upstream refreshes builds no token events.
import { describe, expect, it } from 'vitest';

import { Events, type BatonEvent } from '../../src/observability/events.ts';

const issued = { grantType: 'client_credentials', clientId: 'service', tokens: {}, reqId: 'r1' } as const;
const refreshed = { upstream: 'corp', outcome: 'refreshed', upstreamCall: 'ok', reqId: 'r2' } as unknown as Parameters<Events['emit']>[1];

describe('event bus', () => {
  it('a subscriber to named types receives only those, and wants() says so', () => {
    const bus = new Events();
    expect(bus.wants('token.issued')).toBe(false);
    const seen: BatonEvent[] = [];
    const stop = bus.subscribe((event) => seen.push(event), ['upstream.refresh']);
    expect(bus.wants('upstream.refresh')).toBe(true);
    expect(bus.wants('token.issued')).toBe(false);
    bus.emit('token.issued', issued);
    bus.emit('upstream.refresh', refreshed as never);
    expect(seen.map((event) => event.type)).toStrictEqual(['upstream.refresh']);
    stop();
    stop();
    expect(bus.wants('upstream.refresh')).toBe(false);
    expect(bus.active).toBe(false);
  });

  it('a subscriber to everything makes every type wanted until it leaves', () => {
    const bus = new Events();
    const seen: string[] = [];
    const narrow = bus.subscribe(() => undefined, ['upstream.refresh']);
    const all = bus.subscribe((event) => seen.push(event.type));
    expect(bus.wants('token.issued')).toBe(true);
    bus.emit('token.issued', issued);
    expect(seen).toStrictEqual(['token.issued']);
    all();
    expect(bus.wants('token.issued')).toBe(false);
    expect(bus.wants('upstream.refresh')).toBe(true);
    narrow();
  });

  it('a failing subscriber never fails the emitter; the others still receive the event', () => {
    const errors: unknown[] = [];
    const bus = new Events((err) => errors.push(err));
    const seen: string[] = [];
    bus.subscribe(() => { throw new Error('subscriber bug'); }, ['token.issued']);
    bus.subscribe((event) => seen.push(event.type));
    expect(() => bus.emit('token.issued', issued)).not.toThrow();
    expect(seen).toStrictEqual(['token.issued']);
    expect(String(errors[0])).toMatch(/subscriber bug/);
  });
});
