// Embedded SQLite backend (better-sqlite3, WAL). One-time operations are single conditional
// statements or IMMEDIATE transactions, so they stay atomic across connections and processes.
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import type Database from 'better-sqlite3';

import { privateDirectory, privateFile, withoutWorldAccess } from '../data-files.ts';
import { type Clock, type ModelPayload, type PutRecordOptions, type Store, type StoredRecord, expiresAt, systemClock } from '../store.ts';
import { migrate } from './migrations.ts';
import { drivers } from '../drivers.ts';

const COLLECT_BATCH = 500;

interface ModelRow {
  payload: string;
  consumed_at: number | null;
}

interface RecordRow {
  value: string;
  version: number;
}

export interface SqliteStoreOptions {
  readonly path: string;
  readonly clock?: Clock;
  /** Milliseconds a writer waits for another connection's lock before failing. */
  readonly busyTimeout?: number;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #sql;
  /** The multi-statement writes, each one IMMEDIATE transaction; made once (better-sqlite3 builds a wrapper per `transaction()`: ~5 µs). */
  readonly #tx;

  constructor(options: SqliteStoreOptions) {
    this.#clock = options.clock ?? systemClock;
    if (options.path !== ':memory:') {
      // The database holds hashed tokens, sealed keys and accounts: Baton's user only. SQLite
      // creates the -wal and -shm files with the database file's mode.
      privateDirectory(dirname(options.path));
      privateFile(options.path);
      for (const companion of ['-wal', '-shm']) withoutWorldAccess(`${options.path}${companion}`);
    }
    this.#db = new (drivers.betterSqlite3())(options.path);
    try {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.pragma(`busy_timeout = ${options.busyTimeout ?? 5000}`);
      migrate(this.#db, this.#clock());
      this.#sql = this.#prepare();
      this.#tx = this.#transactions();
    } catch (error) {
      // A refused open (e.g. a schema newer than this Baton) must not leak the connection.
      this.#db.close();
      throw error;
    }
  }

  #prepare() {
    const db = this.#db;
    const live = '(expires_at IS NULL OR expires_at > @now)';
    return {
      upsert: db.prepare(`INSERT INTO oidc_models (model, id, payload, grant_id, uid, user_code, consumed_at, expires_at)
        VALUES (@model, @id, @payload, @grantId, @uid, @userCode, @consumed, @expiresAt)
        ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
          user_code = excluded.user_code, consumed_at = excluded.consumed_at, expires_at = excluded.expires_at`),
      find: db.prepare(`SELECT payload, consumed_at FROM oidc_models WHERE model = @model AND id = @id AND ${live}`),
      findByUid: db.prepare(`SELECT payload, consumed_at FROM oidc_models WHERE model = @model AND uid = @value AND ${live} LIMIT 1`),
      findByUserCode: db.prepare(`SELECT payload, consumed_at FROM oidc_models WHERE model = @model AND user_code = @value AND ${live} LIMIT 1`),
      consume: db.prepare(`UPDATE oidc_models SET consumed_at = @consumed WHERE model = @model AND id = @id AND consumed_at IS NULL AND ${live}`),
      destroy: db.prepare('DELETE FROM oidc_models WHERE model = @model AND id = @id'),
      revokeByGrantId: db.prepare('DELETE FROM oidc_models WHERE model = @model AND grant_id = @grantId'),
      listModelIds: db.prepare(`SELECT id FROM oidc_models WHERE model = @model AND ${live}`).pluck(),
      rekeySource: db.prepare(`SELECT consumed_at, expires_at FROM oidc_models WHERE model = @model AND id = @id AND ${live}`),
      exists: db.prepare('SELECT 1 FROM oidc_models WHERE model = @model AND id = @id'),
      listRecordIds: db.prepare(`SELECT id FROM baton_records WHERE kind = @kind AND ${live}`).pluck(),
      getRecord: db.prepare(`SELECT value, version FROM baton_records WHERE kind = @kind AND id = @id AND ${live}`),
      putRecord: db.prepare(`INSERT INTO baton_records (kind, id, value, version, expires_at) VALUES (@kind, @id, @value, @version, @expiresAt)
        ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`),
      // Insert-if-absent in one statement: inserts, or takes over an expired row (changes = 1); a live row stays (changes = 0).
      insertRecord: db.prepare(`INSERT INTO baton_records (kind, id, value, version, expires_at) VALUES (@kind, @id, @value, 1, @expiresAt)
        ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value, version = 1, expires_at = excluded.expires_at
        WHERE baton_records.expires_at IS NOT NULL AND baton_records.expires_at <= @now`),
      deleteRecord: db.prepare('DELETE FROM baton_records WHERE kind = @kind AND id = @id'),
      collectModels: db.prepare(`DELETE FROM oidc_models WHERE rowid IN (SELECT rowid FROM oidc_models WHERE expires_at <= @now LIMIT ${COLLECT_BATCH})`),
      collectRecords: db.prepare(`DELETE FROM baton_records WHERE rowid IN (SELECT rowid FROM baton_records WHERE expires_at <= @now LIMIT ${COLLECT_BATCH})`),
      ping: db.prepare('SELECT 1 AS ok'),
    };
  }

  #transactions() {
    const db = this.#db;
    const sql = this.#sql;
    return {
      rekey: db.transaction((model: string, from: string, to: string, payload: ModelPayload, json: string): boolean => {
        const source = sql.rekeySource.get({ model, id: from, now: this.#clock() }) as { consumed_at: number | null; expires_at: number | null } | undefined;
        if (!source || sql.exists.get({ model, id: to })) return false;
        sql.destroy.run({ model, id: from });
        sql.upsert.run({
          model,
          id: to,
          payload: json,
          grantId: stringOrNull(payload.grantId),
          uid: stringOrNull(payload.uid),
          userCode: stringOrNull(payload.userCode),
          consumed: source.consumed_at,
          expiresAt: source.expires_at,
        });
        return true;
      }),
      putRecord: db.transaction((kind: string, id: string, json: string, options: PutRecordOptions): boolean => {
        const current = sql.getRecord.get({ kind, id, now: this.#clock() }) as RecordRow | undefined;
        if (options.expectedVersion !== undefined && (current?.version ?? 0) !== options.expectedVersion) return false;
        sql.putRecord.run({ kind, id, value: json, version: (current?.version ?? 0) + 1, expiresAt: expiresAt(this.#clock, options.expiresIn) });
        return true;
      }),
      /** One commit for the whole batch instead of one per record. */
      insertRecords: db.transaction((kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn: number | undefined): boolean[] => {
        const now = this.#clock();
        const expires = expiresAt(this.#clock, expiresIn);
        return records.map(({ id, json }) => sql.insertRecord.run({ kind, id, value: json, expiresAt: expires, now }).changes === 1);
      }),
    };
  }

  async upsert(model: string, id: string, payload: ModelPayload, expiresIn?: number): Promise<void> {
    this.#sql.upsert.run({
      model,
      id,
      payload: JSON.stringify(payload),
      grantId: stringOrNull(payload.grantId),
      uid: stringOrNull(payload.uid),
      userCode: stringOrNull(payload.userCode),
      consumed: typeof payload.consumed === 'number' ? payload.consumed : null,
      expiresAt: expiresAt(this.#clock, expiresIn),
    });
  }

  async find(model: string, id: string): Promise<ModelPayload | undefined> {
    return present(this.#sql.find.get({ model, id, now: this.#clock() }) as ModelRow | undefined);
  }

  async findByUid(model: string, uid: string): Promise<ModelPayload | undefined> {
    return present(this.#sql.findByUid.get({ model, value: uid, now: this.#clock() }) as ModelRow | undefined);
  }

  async findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined> {
    return present(this.#sql.findByUserCode.get({ model, value: userCode, now: this.#clock() }) as ModelRow | undefined);
  }

  async consume(model: string, id: string): Promise<boolean> {
    const now = this.#clock();
    return this.#sql.consume.run({ model, id, now, consumed: Math.floor(now / 1000) }).changes === 1;
  }

  async destroy(model: string, id: string): Promise<void> {
    this.#sql.destroy.run({ model, id });
  }

  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    this.#sql.revokeByGrantId.run({ model, grantId });
  }

  async listModelIds(model: string): Promise<string[]> {
    return this.#sql.listModelIds.all({ model, now: this.#clock() }) as string[];
  }

  async rekey(model: string, from: string, to: string, payload: ModelPayload): Promise<boolean> {
    const { consumed: _consumed, ...rest } = payload;
    return this.#tx.rekey.immediate(model, from, to, payload, JSON.stringify(rest));
  }

  async listRecordIds(kind: string): Promise<string[]> {
    return this.#sql.listRecordIds.all({ kind, now: this.#clock() }) as string[];
  }

  async getRecord<T>(kind: string, id: string): Promise<StoredRecord<T> | undefined> {
    const row = this.#sql.getRecord.get({ kind, id, now: this.#clock() }) as RecordRow | undefined;
    return row && { value: JSON.parse(row.value) as T, version: row.version };
  }

  async putRecord<T>(kind: string, id: string, value: T, options: PutRecordOptions = {}): Promise<boolean> {
    return this.#tx.putRecord.immediate(kind, id, JSON.stringify(value), options);
  }

  /** One IMMEDIATE transaction for the whole batch (one commit instead of one per record). */
  async insertRecords(kind: string, records: ReadonlyArray<{ readonly id: string; readonly json: string }>, expiresIn?: number): Promise<boolean[]> {
    return this.#tx.insertRecords.immediate(kind, records, expiresIn);
  }

  async deleteRecord(kind: string, id: string): Promise<void> {
    this.#sql.deleteRecord.run({ kind, id });
  }

  /** Deletes in small batches and yields between them, so requests interleave with collection. */
  async collectExpired(): Promise<number> {
    let removed = 0;
    for (const statement of [this.#sql.collectModels, this.#sql.collectRecords]) {
      for (;;) {
        const { changes } = statement.run({ now: this.#clock() });
        removed += changes;
        if (changes < COLLECT_BATCH) break;
        await yieldToEventLoop();
      }
    }
    return removed;
  }

  async ping(): Promise<void> {
    this.#sql.ping.get();
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function present(row: ModelRow | undefined): ModelPayload | undefined {
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  if (row.consumed_at !== null) payload.consumed = row.consumed_at;
  return payload;
}
