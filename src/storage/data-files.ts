// Files Baton keeps on disk (the SQLite database with its -wal/-shm, the development master secret,
// the audit log) are readable by Baton's own user only: created 0600, in directories Baton creates
// 0700. A directory that already exists keeps its mode: it may be shared, and is the operator's.
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIRECTORY_MODE = 0o700;

/** Creates `dir` and any missing parents 0700 (exactly, whatever the umask); existing ones are left alone. */
export function privateDirectory(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  if (first === undefined) return;
  // mkdirSync returns the first directory it created; every one from there down to `dir` is new.
  const stop = dirname(resolve(first));
  for (let created = resolve(dir); created !== stop; created = dirname(created)) chmodSync(created, PRIVATE_DIRECTORY_MODE);
}

/**
 * Makes sure `path` exists as a private file: created empty 0600 when absent. An existing file that
 * other users may read or write (an older Baton created it world-readable) loses those bits.
 */
export function privateFile(path: string): void {
  try {
    writeFileSync(path, '', { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    chmodSync(path, PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    withoutWorldAccess(path);
  }
}

/** Removes the permission bits of "other" users from an existing file; absent files are ignored. */
export function withoutWorldAccess(path: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (mode & 0o007) chmodSync(path, mode & ~0o007);
}
