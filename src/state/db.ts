import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { databasePath, stateDir } from '../paths.js';
import { migrations } from './migrations.js';
import { ensureReserve, isOutOfSpace, withReserve } from './reserve.js';
import { asTboxError } from '../errors.js';

export type Database = BetterSqlite3.Database;

let db: Database | undefined;
let mayCreate = true;

/**
 * Open the database only if it is there: for a monitor's exit hook, which
 * may fire after its data root was removed and must not make it again.
 */
export function openExistingOnly(): void {
  mayCreate = false;
}

/** The state database, opened once per process and migrated on first open. */
export function database(): Database {
  if (db) return db;
  if (mayCreate) fs.mkdirSync(stateDir(), { recursive: true });
  try {
    db = withReserve(() => openDatabase(databasePath(), mayCreate));
  } catch (err) {
    throw explainOpenFailure(err);
  }
  ensureReserve();
  return db;
}

/** SQLite says "unable to open" or "disk I/O error"; say why, when the file system can tell. */
function explainOpenFailure(err: unknown): unknown {
  if (isOutOfSpace(err)) return asTboxError(Object.assign(new Error('no space'), { code: 'ENOSPC', path: stateDir() }));
  try {
    fs.accessSync(stateDir(), fs.constants.W_OK);
  } catch (access) {
    return asTboxError(Object.assign(new Error((access as Error).message), { code: 'EROFS', path: stateDir() }));
  }
  return err;
}

/**
 * The addon's path, handed to better-sqlite3 so it skips the `bindings`
 * module's search of a dozen candidate paths on every command.
 */
function nativeBinding(): string | undefined {
  const file = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
  return fs.existsSync(file) ? file : undefined;
}

/** Open and migrate a database file (or ':memory:', which the unit tests use through useDatabase). */
export function openDatabase(file: string, mayCreate = true): Database {
  // Required here, not imported at the top, so commands that never touch
  // state (--help, --version) do not load the native module.
  const Sqlite = require('better-sqlite3') as typeof BetterSqlite3;
  const conn = new Sqlite(file, { fileMustExist: !mayCreate, nativeBinding: nativeBinding() });
  try {
    // Many tbox processes share this file: wait for locks instead of failing.
    conn.pragma('busy_timeout = 10000');
    conn.pragma('journal_mode = WAL');
    conn.pragma('synchronous = NORMAL');
    conn.pragma('foreign_keys = ON');
    migrate(conn);
  } catch (err) {
    conn.close();
    throw err;
  }
  return conn;
}

/** Make `conn` the database this process uses (unit tests: an in-memory one). */
export function useDatabase(conn: Database | undefined): void {
  db = conn;
}

export const isCorruption = (err: unknown) => ['SQLITE_CORRUPT', 'SQLITE_NOTADB'].includes((err as { code?: string }).code ?? '');

/**
 * A corrupt database is moved aside (with its WAL), never deleted: the user
 * may want what is left in it. Returns where it went.
 */
export function moveDatabaseAside(): string {
  db?.close();
  db = undefined;
  const aside = `${databasePath()}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (fs.existsSync(databasePath() + suffix)) fs.renameSync(databasePath() + suffix, aside + suffix);
  }
  return aside;
}

function migrate(conn: Database): void {
  const current = conn.pragma('user_version', { simple: true }) as number;
  if (current >= migrations.length) return;
  writeTransaction(conn, () => {
    // Re-read under the write lock: another process may have migrated.
    const version = conn.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < migrations.length; v++) conn.exec(migrations[v]!);
    conn.pragma(`user_version = ${migrations.length}`);
  });
}

/**
 * BEGIN IMMEDIATE takes the write lock up front, so two processes never both
 * read and then fail to upgrade to a write (SQLITE_BUSY mid-transaction).
 */
export function writeTransaction<T>(conn: Database, fn: () => T): T {
  return conn.transaction(fn).immediate();
}

export function write<T>(fn: (conn: Database) => T): T {
  const conn = database();
  return withReserve(() => writeTransaction(conn, () => fn(conn)));
}
