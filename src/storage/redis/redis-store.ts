// Redis backend (ioredis). Every multi-key or check-then-write operation is one Lua script; calls
// are bounded by `timeout` and reject while Redis is down, and the client reconnects by itself.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import type { Redis } from 'ioredis';

import { type Clock, type ModelPayload, type PutRecordOptions, type Store, type StoredRecord, expiresAt, systemClock } from '../store.ts';
import { COLLECT, CONSUME, DESTROY, FIND_BY, type LuaScript, PUT_RECORD, REKEY, REVOKE, UPSERT } from './scripts.ts';
import { drivers } from '../drivers.ts';

/** Native TTLs outlive the logical expiry by this much, so Redis never drops a key the clock still sees. */
const TTL_MARGIN_MS = 10_000;
const COLLECT_BATCH = 200;
const MAX_RECONNECT_DELAY_MS = 1000;

export interface RedisStoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  /** Seconds: bound on connecting and on every command. */
  readonly timeout: number;
  /** Authoritative for expiry (stored `expiresAt` is checked against it on every read). */
  readonly clock?: Clock;
}

/**
 * Store over one Redis (layout in scripts.ts). Expiry: `expiresAt` is kept in each value and checked
 * against the injected clock on every read; a native TTL (plus a margin) lets Redis drop the key itself.
 * A down Redis makes each call reject within about `timeout` (no offline queue, no resend of
 * commands cut off by a disconnect); the client keeps reconnecting and calls work again once it is back.
 */
export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  #closed = false;
  #lastError: Error | undefined;
  #ready: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.keyPrefix;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = Math.max(1, Math.round(options.timeout * 1000));
    this.#redis = new (drivers.ioredis().Redis)(options.url, {
      connectTimeout: this.#timeoutMs,
      commandTimeout: this.#timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    });
    this.#redis.on('error', (error: Error) => {
      this.#lastError = error;
    });
    this.#redis.on('ready', () => {
      this.#lastError = undefined;
      this.#ready?.resolve();
      this.#ready = undefined;
    });
  }

  async upsert(model: string, id: string, payload: ModelPayload, expiresIn?: number): Promise<void> {
    const at = expiresAt(this.#clock, expiresIn);
    await this.#eval(UPSERT, [this.#modelKey(model, id), this.#zset()], [
      this.#prefix, model, id, JSON.stringify(payload), at === null ? '' : String(at), this.#ttl(at),
      typeof payload.consumed === 'number' ? String(payload.consumed) : '', text(payload.uid), text(payload.userCode), text(payload.grantId),
    ]);
  }

  async find(model: string, id: string): Promise<ModelPayload | undefined> {
    const redis = await this.#client();
    const [payload, at, consumed] = await redis.hmget(this.#modelKey(model, id), 'p', 'e', 'c');
    return this.#present(payload ?? null, at ?? null, consumed ?? null);
  }

  findByUid(model: string, uid: string): Promise<ModelPayload | undefined> {
    return this.#findBy(model, 'u', uid);
  }

  findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined> {
    return this.#findBy(model, 'k', userCode);
  }

  async consume(model: string, id: string): Promise<boolean> {
    const now = this.#clock();
    return (await this.#eval(CONSUME, [this.#modelKey(model, id)], [String(now), String(Math.floor(now / 1000))])) === 1;
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.#eval(DESTROY, [this.#zset()], [this.#prefix, model, id]);
  }

  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    await this.#eval(REVOKE, [`${this.#prefix}g:${model}:${grantId}`, this.#zset()], [this.#prefix, model, grantId]);
  }

  async listModelIds(model: string): Promise<string[]> {
    return this.#liveIds(this.#modelKey(model, ''), 'p');
  }

  async rekey(model: string, from: string, to: string, payload: ModelPayload): Promise<boolean> {
    const { consumed: _consumed, ...rest } = payload;
    return (await this.#eval(REKEY, [this.#modelKey(model, from), this.#modelKey(model, to), this.#zset()], [
      this.#prefix, model, from, to, JSON.stringify(rest), String(this.#clock()), String(TTL_MARGIN_MS),
      text(payload.uid), text(payload.userCode), text(payload.grantId),
    ])) === 1;
  }

  async listRecordIds(kind: string): Promise<string[]> {
    return this.#liveIds(this.#recordKey(kind, ''), 'v');
  }

  /**
   * The ids of the live hashes under `start` holding `field`: SCAN (never KEYS), so Redis keeps
   * serving while they are listed; one pipelined read per batch for the value and the expiry.
   */
  async #liveIds(start: string, field: 'p' | 'v'): Promise<string[]> {
    const redis = await this.#client();
    const ids: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${globEscape(start)}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      const read = redis.pipeline();
      for (const key of keys) read.hmget(key, field, 'e');
      const rows = (await read.exec()) ?? [];
      keys.forEach((key, i) => {
        const [error, fields] = rows[i] ?? [];
        if (error) throw error;
        const [value, at] = fields as [string | null, string | null];
        if (value !== null && !this.#expired(at)) ids.push(key.slice(start.length));
      });
    } while (cursor !== '0');
    // SCAN may return a key twice.
    return [...new Set(ids)];
  }

  async getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    const redis = await this.#client();
    const [value, version, at] = await redis.hmget(this.#recordKey(kind, id), 'v', 'n', 'e');
    if (value == null || version == null || this.#expired(at ?? null)) return undefined;
    return { value: JSON.parse(value) as T, version: Number(version) };
  }

  async putRecord<T>(kind: string, id: string, value: T, options: PutRecordOptions = {}): Promise<boolean> {
    const at = expiresAt(this.#clock, options.expiresIn);
    const written = await this.#eval(PUT_RECORD, [this.#recordKey(kind, id), this.#zset()], [
      String(this.#clock()), options.expectedVersion === undefined ? '' : String(options.expectedVersion),
      JSON.stringify(value === undefined ? null : value), at === null ? '' : String(at), this.#ttl(at), `r:${kind}:${id}`,
    ]);
    return written === 1;
  }

  /**
   * One pipelined round trip of the PUT_RECORD script, each entry atomic on its own; an entry the
   * server answers NOSCRIPT (script cache flushed) is sent again with its source.
   */
  async insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
    const redis = await this.#client();
    const at = expiresAt(this.#clock, expiresIn);
    const seen = new Set<string>();
    const calls = records.map(({ id, json }) => {
      if (seen.has(id)) return undefined;
      seen.add(id);
      return { keys: [this.#recordKey(kind, id), this.#zset()], args: [String(this.#clock()), '0', json, at === null ? '' : String(at), this.#ttl(at), `r:${kind}:${id}`] };
    });
    const batch = redis.pipeline();
    for (const call of calls) if (call) batch.evalsha(PUT_RECORD.sha, PUT_RECORD.keys, ...call.keys, ...call.args);
    const answers = (await batch.exec()) ?? [];
    let next = 0;
    const written: boolean[] = [];
    for (const call of calls) {
      if (!call) { written.push(false); continue; }
      const [error, answer] = answers[next++] ?? [new Error('the pipeline returned fewer answers than commands')];
      if (error && !error.message.startsWith('NOSCRIPT')) throw error;
      written.push((error ? await this.#eval(PUT_RECORD, call.keys, call.args) : answer) === 1);
    }
    return written;
  }

  async deleteRecord(kind: string, id: string): Promise<void> {
    const redis = await this.#client();
    const results = await redis.multi().del(this.#recordKey(kind, id)).zrem(this.#zset(), `r:${kind}:${id}`).exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  /**
   * Redis's native TTLs remove expired keys by themselves; this walks the expiry index in small
   * batches (yielding between them) and deletes what the injected clock already sees as expired,
   * with its uid/userCode/grant index entries. Returns how many models and records it deleted;
   * index entries of keys Redis had already dropped are pruned without being counted.
   */
  async collectExpired(): Promise<number> {
    let deleted = 0;
    for (;;) {
      const [count, examined] = (await this.#eval(COLLECT, [this.#zset()], [this.#prefix, String(this.#clock()), String(COLLECT_BATCH)])) as [number, number];
      deleted += count;
      if (examined < COLLECT_BATCH) return deleted;
      await yieldToEventLoop();
    }
  }

  async ping(): Promise<void> {
    await (await this.#client()).ping();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = undefined;
    if (this.#redis.status === 'ready') await this.#redis.quit().catch(() => undefined);
    this.#redis.disconnect();
  }

  /** The connected client; waits up to `timeout` for a (re)connection, then rejects. */
  async #client(): Promise<Redis> {
    if (this.#closed) throw new Error('store is closed');
    if (this.#redis.status === 'ready') return this.#redis;
    if (!this.#ready) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#ready = { promise, resolve };
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const cause = this.#lastError ? `: ${this.#lastError.message}` : '';
        reject(new Error(`Redis is not reachable (no connection within ${this.#timeoutMs} ms)${cause}`));
      }, this.#timeoutMs);
    });
    try {
      await Promise.race([this.#ready.promise, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    if (this.#closed) throw new Error('store is closed');
    return this.#redis;
  }

  /** EVALSHA, falling back to EVAL when the server does not know the script (first use, restart). */
  async #eval(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    const redis = await this.#client();
    try {
      return await redis.evalsha(script.sha, script.keys, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(script.source, script.keys, ...keys, ...args);
    }
  }

  async #findBy(model: string, field: 'u' | 'k', value: string): Promise<ModelPayload | undefined> {
    const index = `${this.#prefix}${field === 'u' ? 'u' : 'c'}:${model}:${value}`;
    const row = (await this.#eval(FIND_BY, [index], [this.#prefix, model, field, value])) as [string, string | null, string | null] | null;
    return row ? this.#present(row[0], row[1], row[2]) : undefined;
  }

  #present(payload: string | null, at: string | null, consumed: string | null): ModelPayload | undefined {
    if (payload === null || this.#expired(at)) return undefined;
    const out = JSON.parse(payload) as Record<string, unknown>;
    if (consumed !== null) out.consumed = Number(consumed);
    return out;
  }

  #expired(at: string | null): boolean {
    return at !== null && Number(at) <= this.#clock();
  }

  /** Native TTL in ms for a logical expiry, or '' for none. */
  #ttl(at: number | null): string {
    return at === null ? '' : String(Math.max(1, Math.ceil(at - this.#clock())) + TTL_MARGIN_MS);
  }

  #modelKey(model: string, id: string): string {
    return `${this.#prefix}m:${model}:${id}`;
  }

  #recordKey(kind: string, id: string): string {
    return `${this.#prefix}r:${kind}:${id}`;
  }

  #zset(): string {
    return `${this.#prefix}x`;
  }
}

/** A literal for a SCAN MATCH pattern: glob metacharacters escaped. */
function globEscape(literal: string): string {
  return literal.replace(/[\\*?[\]]/g, '\\$&');
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
