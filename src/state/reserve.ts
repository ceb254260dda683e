/**
 * A little disk space held back for the state database. SQLite in WAL mode
 * needs room for its -wal and -shm files on every open; on a full disk
 * (a container that filled it, a pull) tbox could then neither record an
 * exit nor remove the container that would free the space. So a 1 MiB
 * file stands beside the database: when SQLite fails for want of space, it
 * is given up and the operation tried once more; it is made again whenever
 * there is room.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stateDir } from '../paths.js';

const RESERVE_BYTES = 1024 * 1024;
const reservePath = () => path.join(stateDir(), '.reserve');

/** Out of space, as SQLite reports it: SQLITE_FULL, or an I/O error on a file system with nothing left. */
export function isOutOfSpace(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return true;
  if (!code.startsWith('SQLITE_IOERR') && code !== 'SQLITE_CANTOPEN') return false;
  try {
    return fs.statfsSync(stateDir()).bavail === 0;
  } catch {
    return false;
  }
}

/** Free the reserve; false if there was none to free. */
export function releaseReserve(): boolean {
  try {
    fs.unlinkSync(reservePath());
    return true;
  } catch {
    return false;
  }
}

/** Make the reserve if it is missing and there is room (one stat on the usual path). */
export function ensureReserve(): void {
  if (fs.existsSync(reservePath())) return;
  const tmp = `${reservePath()}.${process.pid}`;
  try {
    fs.writeFileSync(tmp, Buffer.alloc(RESERVE_BYTES));
    fs.renameSync(tmp, reservePath());
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

/** Run fn; if it fails for want of space, free the reserve and run it once more. */
export function withReserve<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!isOutOfSpace(err) || !releaseReserve()) throw err;
    return fn();
  }
}
