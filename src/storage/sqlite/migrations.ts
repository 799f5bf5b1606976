// Versioned schema of the SQLite backend. Append new migrations; never edit an applied one.
import type { Database } from 'better-sqlite3';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'models and records',
    sql: `
      CREATE TABLE oidc_models (
        model       TEXT    NOT NULL,
        id          TEXT    NOT NULL,
        payload     TEXT    NOT NULL,
        grant_id    TEXT,
        uid         TEXT,
        user_code   TEXT,
        consumed_at INTEGER,
        expires_at  INTEGER,
        PRIMARY KEY (model, id)
      );
      CREATE INDEX oidc_models_grant_id  ON oidc_models (model, grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_models_uid       ON oidc_models (model, uid) WHERE uid IS NOT NULL;
      CREATE INDEX oidc_models_user_code ON oidc_models (model, user_code) WHERE user_code IS NOT NULL;
      CREATE INDEX oidc_models_expires   ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE baton_records (
        kind       TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        value      TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        expires_at INTEGER,
        PRIMARY KEY (kind, id)
      );
      CREATE INDEX baton_records_expires ON baton_records (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
];

/** Applies pending migrations in one immediate transaction, so concurrent starters cannot race. */
export function migrate(db: Database, now: number): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const apply = db.transaction(() => {
    const row = db.prepare('SELECT max(version) AS version FROM schema_migrations').get() as { version: number | null };
    const current = row.version ?? 0;
    const latest = MIGRATIONS.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new Error(`database schema version ${current} is newer than this Baton (${latest}); upgrade Baton`);
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, now);
      applied.push(migration.version);
    }
    return applied;
  });
  return apply.immediate();
}
