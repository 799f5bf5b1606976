// A store failure while a refresh settles its rotation lease (grants/rotate-once.ts): the refresh
// itself succeeded and its answer stands, and the settlement (the grace record, or the release) is
// retried in the background, so a store blip neither keeps the next presentation waiting 15 s for a
// 503 nor lets the grace window pass until a second tab's refresh is reuse. Unit cases on the
// rotation records over a memory store that fails chosen writes, then one through a real Baton.
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { ROTATION_KIND, RotationRecords, tokenKey, type Rotation } from '../../src/grants/refresh-rotation.ts';
import { rotateOnce, type RotationSteps } from '../../src/grants/rotate-once.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { ORDERS_API, WEB_REDIRECT, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';
import { seedAuthorizationCode } from '../helpers/seed.ts';

const OLD = 'old-refresh-token-value-0123456789abcdef';
const SUCCESSOR = 'successor-refresh-token-value-0123456789';

/** Which writes of rotation records fail next (each entry once): the grace record, or a release. */
interface Faults {
  rotated: number;
  release: number;
}

/** A memory store whose next `faults` rotation writes reject, as a store that blinked. */
function blinkingStore(faults: Faults, clock?: () => number): { store: Store; attempts: { rotated: number; release: number } } {
  const inner = new MemoryStore(clock ? { clock } : {});
  const attempts = { rotated: 0, release: 0 };
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const [kind, , record] = args as [string, string, Partial<Rotation> | undefined];
        if (kind === ROTATION_KIND && name === 'putRecord' && record?.state === 'rotated') {
          attempts.rotated += 1;
          if (faults.rotated > 0) {
            faults.rotated -= 1;
            return Promise.reject(new Error('storage is down'));
          }
        }
        if (kind === ROTATION_KIND && name === 'deleteRecord') {
          attempts.release += 1;
          if (faults.release > 0) {
            faults.release -= 1;
            return Promise.reject(new Error('storage is down'));
          }
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
  return { store, attempts };
}

/** Steps that record what rotateOnce chose; `rotate` succeeds with SUCCESSOR unless told to fail. */
function steps(options: { failRotation?: boolean } = {}) {
  const seen = { rotated: 0, replayed: [] as string[], asIs: 0, failures: [] as string[] };
  const result: RotationSteps<string> = {
    rotate: async () => {
      seen.rotated += 1;
      if (options.failRotation) throw new Error('the grant refused');
      return { result: 'rotated', successor: SUCCESSOR };
    },
    replay: async (successor) => {
      seen.replayed.push(successor);
      return 'replayed';
    },
    asIs: async () => {
      seen.asIs += 1;
      return 'as-is';
    },
    busy: () => new Error('busy'),
    storeFailed: (_err, what) => {
      seen.failures.push(what);
    },
  };
  return { steps: result, seen };
}

describe('a store failure while a rotation settles', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the grace record fails once: the answer stands, and the next presentation inside the window is replayed at once, not kept waiting', async () => {
    const { store, attempts } = blinkingStore({ rotated: 1, release: 0 });
    const records = new RotationRecords(store, Date.now);
    const first = steps();
    await expect(rotateOnce(records, { value: OLD, clientId: 'web', grace: 30 }, first.steps)).resolves.toBe('rotated');
    expect(first.seen.failures).toEqual(['recording a refresh rotation failed; retrying in the background']);
    const started = performance.now();
    const second = steps();
    await expect(rotateOnce(records, { value: OLD, clientId: 'web', grace: 30 }, second.steps)).resolves.toBe('replayed');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(second.seen).toMatchObject({ rotated: 0, replayed: [SUCCESSOR], asIs: 0 });
    expect(attempts.rotated).toBe(2);
    await store.close();
  });

  it('releasing the lease after a failed rotation fails once: the next presentation rotates at once', async () => {
    const { store, attempts } = blinkingStore({ rotated: 0, release: 1 });
    const records = new RotationRecords(store, Date.now);
    const refused = steps({ failRotation: true });
    await expect(rotateOnce(records, { value: OLD, clientId: 'web', grace: 30 }, refused.steps)).rejects.toThrow('the grant refused');
    expect(refused.seen.failures).toEqual(['releasing a refresh rotation lease failed; retrying in the background']);
    const started = performance.now();
    const retry = steps();
    await expect(rotateOnce(records, { value: OLD, clientId: 'web', grace: 30 }, retry.steps)).resolves.toBe('rotated');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(retry.seen.rotated).toBe(1);
    expect(attempts.release).toBe(2);
    await store.close();
  });

  it('recorded late, the window still ends grace seconds after the rotation: past it the lease is released instead', async () => {
    vi.useFakeTimers();
    let now = Date.parse('2026-12-07T12:00:00Z');
    const clock = () => now;
    const { store } = blinkingStore({ rotated: 1, release: 0 }, clock);
    const records = new RotationRecords(store, clock);
    await expect(rotateOnce(records, { value: OLD, clientId: 'web', grace: 1 }, steps().steps)).resolves.toBe('rotated');
    expect(await records.read(OLD)).toMatchObject({ state: 'pending' });
    now += 1_500;
    await vi.advanceTimersByTimeAsync(300);
    expect(await records.read(OLD)).toBeUndefined();
    await store.close();
  });

  it('recorded late inside the window: the record keeps the rotation time and expires with the window', async () => {
    vi.useFakeTimers();
    let now = Date.parse('2026-12-07T12:00:00Z');
    const rotatedAt = now;
    const clock = () => now;
    const { store } = blinkingStore({ rotated: 1, release: 0 }, clock);
    const records = new RotationRecords(store, clock);
    await rotateOnce(records, { value: OLD, clientId: 'web', grace: 10 }, steps().steps);
    now += 3_000;
    await vi.advanceTimersByTimeAsync(300);
    const rotation = await records.read(OLD);
    expect(rotation).toMatchObject({ state: 'rotated', clientId: 'web', at: rotatedAt });
    now = rotatedAt + 9_900;
    expect(await records.read(OLD)).toBeDefined();
    now = rotatedAt + 10_100;
    expect(await records.read(OLD)).toBeUndefined();
    await store.close();
  });

  it('a store that stays down: retried in the background a bounded number of times, then given up and logged; nothing thrown', async () => {
    vi.useFakeTimers();
    const { store, attempts } = blinkingStore({ rotated: 100, release: 0 });
    const records = new RotationRecords(store, Date.now);
    const first = steps();
    await expect(rotateOnce(records, { value: OLD, clientId: 'web', grace: 600 }, first.steps)).resolves.toBe('rotated');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts.rotated).toBe(8);
    expect(first.seen.failures).toEqual([
      'recording a refresh rotation failed; retrying in the background',
      'recording a refresh rotation failed; gave up after 7 retries',
    ]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts.rotated).toBe(8);
    await store.close();
  });

  it('no retry starts within 15 s of the lease running out: a slow store cannot settle a lease another request may have taken by then', async () => {
    vi.useFakeTimers();
    let now = Date.parse('2026-12-07T12:00:00Z');
    const clock = () => now;
    const { store, attempts } = blinkingStore({ rotated: 100, release: 0 }, clock);
    const records = new RotationRecords(store, clock);
    const first = steps();
    await rotateOnce(records, { value: OLD, clientId: 'web', grace: 600 }, first.steps);
    // The store answered slowly: by the time the first retry is due, the lease is 46 s old.
    now += 46_000;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts.rotated).toBe(1);
    expect(first.seen.failures).toEqual([
      'recording a refresh rotation failed; retrying in the background',
      'recording a refresh rotation failed; no more retries',
    ]);
    await store.close();
  });

  it('only the lease owner settles: a retry after the lease ran out and another request took it leaves that one alone', async () => {
    vi.useFakeTimers();
    let now = Date.parse('2026-12-07T12:00:00Z');
    const clock = () => now;
    const { store } = blinkingStore({ rotated: 1, release: 0 }, clock);
    const records = new RotationRecords(store, clock);
    await rotateOnce(records, { value: OLD, clientId: 'web', grace: 120 }, steps().steps);
    now += 61_000;
    const other = await records.claim(OLD, 'web');
    expect(other).toBeDefined();
    await vi.advanceTimersByTimeAsync(300);
    const raw = await store.getRecord<Rotation>(ROTATION_KIND, tokenKey(OLD));
    expect(raw?.value).toEqual({ state: 'pending', clientId: 'web', owner: other });
    await store.close();
  });
});

describe('through Baton: the grace record of a refresh fails to be written once', () => {
  const faults: Faults = { rotated: 0, release: 0 };
  const { store } = blinkingStore(faults);
  const lines: string[] = [];
  let baton: RunningBaton;
  beforeAll(async () => {
    const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } });
    baton = await startBaton({
      ...standardConfig,
      clients: standardConfig.clients.map((c) => (c.client_id === 'web' ? { ...c, refreshTokenReuseGrace: 30 } : c)),
    }, { store, logger: pino({ level: 'info' }, sink) });
  });
  afterAll(async () => {
    await baton?.stop();
  });

  const token = (body: Record<string, string>) => postForm(`${baton.url}/token`, new URLSearchParams(body), { authorization: basic('web', TEST_ENV.WEB_SECRET) });

  it('the refresh answers 200, and the old token presented again (a second tab) gets the same successor at once, not a 503 after 15 s', async () => {
    const seeded = await seedAuthorizationCode(baton.baton, { clientId: 'web', redirectUri: WEB_REDIRECT, resource: ORDERS_API, resourceScope: 'orders:read' });
    const issued = await token({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: WEB_REDIRECT, code_verifier: seeded.codeVerifier });
    expect(issued.status).toBe(200);
    const first = String(issued.json.refresh_token);
    faults.rotated = 1;
    const rotated = await token({ grant_type: 'refresh_token', refresh_token: first });
    expect(rotated.status).toBe(200);
    expect(faults.rotated).toBe(0);
    const started = performance.now();
    const again = await token({ grant_type: 'refresh_token', refresh_token: first });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(again.status).toBe(200);
    expect(again.json.refresh_token).toBe(rotated.json.refresh_token);
    // The family lives: the successor refreshes.
    expect((await token({ grant_type: 'refresh_token', refresh_token: String(rotated.json.refresh_token) })).status).toBe(200);
    const logged = lines.join('');
    expect(logged).toContain('recording a refresh rotation failed; retrying in the background');
    for (const secret of [first, String(rotated.json.refresh_token), seeded.code]) expect(logged).not.toContain(secret);
  });
});
