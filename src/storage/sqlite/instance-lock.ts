// One Baton server per SQLite database: `<database>.lock` holds the owning process id. A lock whose
// process is gone (a crash, SIGKILL, a reboot) is taken over, so nothing needs removing by hand.
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import type { BatonConfig } from '../../config/schema.ts';
import { StartupError } from '../../config/startup-error.ts';
import { privateDirectory } from '../data-files.ts';

/** Locks held by this process, counted: several in-process servers (tests) may share one file. */
const held = new Map<string, number>();

/**
 * Takes the lock on `databasePath` for this process, or throws a StartupError naming the process
 * that holds it. Returns the release function (idempotent).
 */
export function lockSqliteDatabase(databasePath: string): () => void {
  const lockPath = `${resolve(databasePath)}.lock`;
  const count = held.get(lockPath);
  if (count !== undefined) held.set(lockPath, count + 1);
  else acquire(lockPath, databasePath);
  if (count === undefined) held.set(lockPath, 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (held.get(lockPath) ?? 1) - 1;
    if (left > 0) {
      held.set(lockPath, left);
      return;
    }
    held.delete(lockPath);
    // Remove only our own lock: never one another process took over meanwhile.
    if (ownerOf(lockPath) === process.pid) unlinkSync(lockPath);
  };
}

function acquire(lockPath: string, databasePath: string): void {
  // Written whole under a private name, then linked into place: link() fails if the lock exists,
  // and a reader never sees a half-written PID.
  privateDirectory(dirname(lockPath));
  const draft = `${lockPath}.${process.pid}`;
  writeFileSync(draft, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (tryLink(draft, lockPath)) return;
      checkOwner(lockPath, databasePath);
    }
  } finally {
    unlinkSync(draft);
  }
  throw new StartupError(`could not take the lock ${lockPath}: another Baton process is starting on the same database`);
}

function tryLink(draft: string, lockPath: string): boolean {
  try {
    linkSync(draft, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  }
}

/** Throws when a live process holds the lock; otherwise removes the stale lock. */
function checkOwner(lockPath: string, databasePath: string): void {
  const owner = ownerOf(lockPath);
  if (owner !== undefined && owner !== process.pid && alive(owner)) {
    throw new StartupError([
      `the SQLite database ${databasePath} is in use by another Baton process (PID ${owner}).`,
      'SQLite serves one Baton instance: stop that process, or give this one its own storage.path;',
      'several instances need a shared store (storage.type postgres, redis or split, see docs/storage.md).',
      `If no such process is running, remove ${lockPath}.`,
    ].join('\n'));
  }
  // Stale: its process is gone. (Two servers starting in the same millisecond over a stale lock
  // could both pass here; the lock is for the common mistake, not a distributed mutex.)
  try {
    unlinkSync(lockPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function ownerOf(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock for the configured storage when it is (or its durable side is) an SQLite file. */
export function lockSqliteStorage(storage: BatonConfig['storage']): (() => void) | undefined {
  const sqlite = storage.type === 'split' ? storage.durable : storage;
  if (sqlite.type !== 'sqlite' || sqlite.path === ':memory:') return undefined;
  return lockSqliteDatabase(sqlite.path);
}
