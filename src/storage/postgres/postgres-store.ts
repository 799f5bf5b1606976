// PostgreSQL backend (pg.Pool). Every one-time operation is a single conditional statement, so it
// stays atomic across connections, processes and instances; expiry compares the injected clock.
import type pg from 'pg';

import { type Clock, type ModelPayload, type PutRecordOptions, type Store, type StoredRecord, systemClock } from '../store.ts';
import { migrate, quoteSchema } from './migrations.ts';
import { drivers } from '../drivers.ts';

const COLLECT_BATCH = 500;

interface ModelRow {
  payload: string;
  consumed_at: string | null;
}

interface RecordRow {
  value: string;
  version: number;
}

export interface PostgresStoreOptions {
  readonly url: string;
  /** Schema holding the tables; created and migrated on first use. */
  readonly schema?: string;
  /** Maximum connections of this instance's pool. */
  readonly poolSize?: number;
  /** Seconds bounding connecting (or waiting for a pooled connection) and every statement. */
  readonly timeout?: number;
  readonly clock?: Clock;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #clock: Clock;
  readonly #sql: ReturnType<typeof statements>;
  #ready: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: PostgresStoreOptions) {
    this.#schema = options.schema ?? 'baton';
    this.#sql = statements(quoteSchema(this.#schema));
    this.#clock = options.clock ?? systemClock;
    const timeoutMs = Math.ceil((options.timeout ?? 5) * 1000);
    this.#pool = new (drivers.pg().Pool)({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: timeoutMs,
      statement_timeout: timeoutMs,
      query_timeout: timeoutMs,
      application_name: 'baton',
    });
    // An idle connection dropped by the server must not crash the process; the pool replaces it.
    this.#pool.on('error', () => undefined);
  }

  async upsert(model: string, id: string, payload: ModelPayload, expiresIn?: number): Promise<void> {
    const consumed = typeof payload.consumed === 'number' && Number.isFinite(payload.consumed) ? Math.floor(payload.consumed) : null;
    await this.#query(this.#sql.upsert, [
      model,
      id,
      JSON.stringify(payload),
      stringOrNull(payload.grantId),
      stringOrNull(payload.uid),
      stringOrNull(payload.userCode),
      consumed,
      this.#expiresAt(expiresIn),
    ]);
  }

  async find(model: string, id: string): Promise<ModelPayload | undefined> {
    return present((await this.#query<ModelRow>(this.#sql.find, [model, id, this.#now()])).rows[0]);
  }

  async findByUid(model: string, uid: string): Promise<ModelPayload | undefined> {
    return present((await this.#query<ModelRow>(this.#sql.findByUid, [model, uid, this.#now()])).rows[0]);
  }

  async findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined> {
    return present((await this.#query<ModelRow>(this.#sql.findByUserCode, [model, userCode, this.#now()])).rows[0]);
  }

  async consume(model: string, id: string): Promise<boolean> {
    const now = this.#clock();
    const result = await this.#query(this.#sql.consume, [Math.floor(now / 1000), model, id, Math.floor(now)]);
    return result.rowCount === 1;
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.#query(this.#sql.destroy, [model, id]);
  }

  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    await this.#query(this.#sql.revokeByGrantId, [model, grantId]);
  }

  async listModelIds(model: string): Promise<string[]> {
    return (await this.#query<{ id: string }>(this.#sql.listModelIds, [model, this.#now()])).rows.map((row) => row.id);
  }

  /** One statement: the DELETE locks the source row, so a concurrent move of it finds nothing to move. */
  async rekey(model: string, from: string, to: string, payload: ModelPayload): Promise<boolean> {
    const { consumed: _consumed, ...rest } = payload;
    try {
      const result = await this.#query(this.#sql.rekey, [
        model, from, this.#now(), to, JSON.stringify(rest), stringOrNull(payload.grantId), stringOrNull(payload.uid), stringOrNull(payload.userCode),
      ]);
      return result.rowCount === 1;
    } catch (error) {
      // Something was written under `to` meanwhile: the whole statement rolled back, nothing moved.
      if ((error as { code?: string }).code === '23505') return false;
      throw error;
    }
  }

  async listRecordIds(kind: string): Promise<string[]> {
    return (await this.#query<{ id: string }>(this.#sql.listRecordIds, [kind, this.#now()])).rows.map((row) => row.id);
  }

  async getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    const row = (await this.#query<RecordRow>(this.#sql.getRecord, [kind, id, this.#now()])).rows[0];
    return row && { value: JSON.parse(row.value) as T, version: row.version };
  }

  /** One statement per case; each resolves true only when its RETURNING produced the written row. */
  async putRecord<T>(kind: string, id: string, value: T, options: PutRecordOptions = {}): Promise<boolean> {
    const text = JSON.stringify(value) ?? 'null';
    const expires = this.#expiresAt(options.expiresIn);
    const now = this.#now();
    const expected = options.expectedVersion;
    const result =
      expected === undefined
        ? await this.#query(this.#sql.putAlways, [kind, id, text, expires, now])
        : expected === 0
          ? await this.#query(this.#sql.putIfAbsent, [kind, id, text, expires, now])
          : await this.#query(this.#sql.putIfVersion, [kind, id, text, expires, now, expected]);
    return result.rowCount === 1;
  }

  /**
   * One statement for the whole batch (the rows as two arrays); ids repeated within the batch are
   * answered false before it runs (an upsert cannot touch one row twice).
   */
  async insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
    const first = new Map<string, number>();
    records.forEach(({ id }, i) => { if (!first.has(id)) first.set(id, i); });
    const unique = [...first.values()].map((i) => records[i]!);
    if (unique.length === 0) return [];
    const result = await this.#query<{ id: string }>(this.#sql.insertRecords, [
      kind, unique.map((r) => r.id), unique.map((r) => r.json), this.#expiresAt(expiresIn), this.#now(),
    ]);
    const written = new Set(result.rows.map((row) => row.id));
    return records.map(({ id }, i) => first.get(id) === i && written.has(id));
  }

  async deleteRecord(kind: string, id: string): Promise<void> {
    await this.#query(this.#sql.deleteRecord, [kind, id]);
  }

  /**
   * Deletes in batches of COLLECT_BATCH rows, one short statement each, skipping rows another
   * transaction holds (they are collected next time), so writers and readers are never held up.
   */
  async collectExpired(): Promise<number> {
    let removed = 0;
    for (const statement of [this.#sql.collectModels, this.#sql.collectRecords]) {
      for (;;) {
        const count = (await this.#query(statement, [this.#now()])).rowCount ?? 0;
        removed += count;
        if (count < COLLECT_BATCH) break;
      }
    }
    return removed;
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1', []);
  }

  async close(): Promise<void> {
    this.#closed ??= this.#pool.end();
    await this.#closed;
  }

  /** Single statements go straight to the pool: no client is held across awaits. */
  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new Error('store is closed');
    await this.#migrated();
    if (this.#closed) throw new Error('store is closed');
    return this.#pool.query<R>(text, values);
  }

  /** Migrates once per instance on first use; a failure (e.g. database down) is retried by the next call. */
  #migrated(): Promise<void> {
    this.#ready ??= (async () => {
      const client = await this.#pool.connect();
      let failure: Error | undefined;
      try {
        await migrate(client, this.#schema, this.#clock());
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        client.release(failure); // after a failure the connection is discarded, not reused
      }
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  #now(): number {
    return Math.floor(this.#clock());
  }

  /** Rounded up, so an instance lives at least as long as asked; compared against the floored clock. */
  #expiresAt(expiresIn: number | undefined): number | null {
    return expiresIn === undefined ? null : Math.ceil(this.#clock() + expiresIn * 1000);
  }
}

function statements(s: string) {
  const live = '(expires_at IS NULL OR expires_at > $3)';
  const models = `${s}.oidc_models`;
  const records = `${s}.baton_records`;
  const collect = (table: string) =>
    // `ctid = ANY(ARRAY(...))` always plans as a TID scan; SKIP LOCKED leaves rows in use for next time.
    `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM ${table} WHERE expires_at <= $1 LIMIT ${COLLECT_BATCH} FOR UPDATE SKIP LOCKED))`;
  const expired = '(r.expires_at IS NOT NULL AND r.expires_at <= $5)';
  const insertRecord = `INSERT INTO ${records} AS r (kind, id, value, version, expires_at) VALUES ($1, $2, $3, 1, $4)
    ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`;
  return {
    upsert: `INSERT INTO ${models} (model, id, payload, grant_id, uid, user_code, consumed_at, expires_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
      ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
        user_code = excluded.user_code, consumed_at = excluded.consumed_at, expires_at = excluded.expires_at`,
    find: `SELECT payload, consumed_at FROM ${models} WHERE model = $1 AND id = $2 AND ${live}`,
    findByUid: `SELECT payload, consumed_at FROM ${models} WHERE model = $1 AND uid = $2 AND ${live} LIMIT 1`,
    findByUserCode: `SELECT payload, consumed_at FROM ${models} WHERE model = $1 AND user_code = $2 AND ${live} LIMIT 1`,
    consume: `UPDATE ${models} SET consumed_at = $1 WHERE model = $2 AND id = $3 AND consumed_at IS NULL
      AND (expires_at IS NULL OR expires_at > $4) RETURNING 1`,
    destroy: `DELETE FROM ${models} WHERE model = $1 AND id = $2`,
    revokeByGrantId: `DELETE FROM ${models} WHERE model = $1 AND grant_id = $2`,
    listModelIds: `SELECT id FROM ${models} WHERE model = $1 AND (expires_at IS NULL OR expires_at > $2)`,
    rekey: `WITH moved AS (
        DELETE FROM ${models} WHERE model = $1 AND id = $2 AND ${live}
          AND NOT EXISTS (SELECT 1 FROM ${models} WHERE model = $1 AND id = $4)
        RETURNING consumed_at, expires_at)
      INSERT INTO ${models} (model, id, payload, grant_id, uid, user_code, consumed_at, expires_at)
        SELECT $1, $4, $5, $6, $7, $8, consumed_at, expires_at FROM moved RETURNING 1`,
    listRecordIds: `SELECT id FROM ${records} WHERE kind = $1 AND (expires_at IS NULL OR expires_at > $2)`,
    getRecord: `SELECT value, version FROM ${records} WHERE kind = $1 AND id = $2 AND ${live}`,
    // Unconditional: always writes; an expired row counts as absent and restarts at version 1.
    putAlways: `${insertRecord}, version = CASE WHEN ${expired} THEN 1 ELSE r.version + 1 END RETURNING 1`,
    // Insert-if-absent: inserts, or takes over an expired row; a live row is left alone (no row returned).
    putIfAbsent: `${insertRecord}, version = 1 WHERE ${expired} RETURNING 1`,
    // putIfAbsent for many ids at once ($2 ids, $3 values, all of kind $1 with expiry $4).
    insertRecords: `INSERT INTO ${records} AS r (kind, id, value, version, expires_at)
        SELECT $1, u.id, u.value, 1, $4 FROM unnest($2::text[], $3::text[]) AS u(id, value)
      ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, version = 1 WHERE ${expired}
      RETURNING r.id`,
    // Compare-and-set: only the live row at exactly that version; an absent or expired one never matches.
    putIfVersion: `UPDATE ${records} SET value = $3, expires_at = $4, version = version + 1
      WHERE kind = $1 AND id = $2 AND version = $6 AND (expires_at IS NULL OR expires_at > $5) RETURNING 1`,
    deleteRecord: `DELETE FROM ${records} WHERE kind = $1 AND id = $2`,
    collectModels: collect(models),
    collectRecords: collect(records),
  };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function present(row: ModelRow | undefined): ModelPayload | undefined {
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  if (row.consumed_at !== null) payload.consumed = Number(row.consumed_at);
  return payload;
}
