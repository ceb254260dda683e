/** Docker's exit codes: 125 when tbox itself fails, 126/127 when CMD can't run. */
export const EXIT_TBOX = 125;
export const EXIT_CANNOT_RUN = 126;
export const EXIT_NOT_FOUND = 127;

/** An error a user can act on: one line, and the exit code tbox ends with. */
export class TboxError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_TBOX,
  ) {
    super(message);
    this.name = 'TboxError';
  }
}

export class NotFoundError extends TboxError {}
export class ConflictError extends TboxError {}
export class InvalidArgumentError extends TboxError {}
export class HostToolMissingError extends TboxError {}
export class UnsafeArchiveError extends TboxError {}
export class DiskFullError extends TboxError {}

/** Several steps of a teardown failed; each is reported, none hides another. */
export class TeardownErrors extends TboxError {
  constructor(readonly failures: Error[]) {
    super(failures.map((f) => f.message).join('; '), failures.find((f) => f instanceof TboxError)?.exitCode ?? EXIT_TBOX);
    this.name = 'TeardownErrors';
  }
}

/**
 * Run every step even when one fails (as netavark's NetavarkErrorList does),
 * then throw all failures at once, so teardown leaves as little as it can.
 */
export function teardown(steps: (() => void)[]): void {
  const failures: Error[] = [];
  for (const step of steps) {
    try {
      step();
    } catch (err) {
      failures.push(err instanceof Error ? err : new Error(String(err)));
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new TeardownErrors(failures);
}

/** The undo steps of a multi-step operation, run newest first when it fails half-way. */
export class UndoStack {
  private readonly steps: (() => void)[] = [];

  push(step: () => void): void {
    this.steps.push(step);
  }

  /** Undo everything registered; the original error stays the one thrown, with the undo's failures as its cause. */
  unwind(cause: unknown): never {
    try {
      teardown(this.steps.splice(0).reverse());
    } catch (undoErr) {
      if (cause instanceof Error && cause.cause === undefined) cause.cause = undoErr;
    }
    throw cause;
  }

  /** The operation succeeded: nothing to undo. */
  clear(): void {
    this.steps.length = 0;
  }
}

/**
 * Any error as the one line a user reads: tbox's own as they are; the
 * system's and SQLite's (disk full, read-only or corrupt database) mapped to
 * what happened and what to do. Never a stack trace (--debug adds one).
 */
export function asTboxError(err: unknown): TboxError {
  if (err instanceof TboxError) return err;
  const e = err as { code?: string; message?: string; path?: string };
  const message = e?.message ?? String(err);
  const where = e?.path ? ` (${e.path})` : '';
  switch (e?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'SQLITE_FULL':
      return new DiskFullError(`no space left on device${where}: free some space (tbox image prune, tbox rm) and try again`);
    case 'EROFS':
    case 'SQLITE_READONLY':
    case 'SQLITE_READONLY_DBMOVED':
    case 'SQLITE_READONLY_DIRECTORY':
      return new TboxError(
        `tbox's data is read-only${where}: ${message}; tbox needs to write its state (check TBOX_ROOT and the file's permissions)`,
      );
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return new TboxError(
        `the state database is corrupt (${message}): run 'tbox system reset -f', which moves it aside and removes what tbox made`,
      );
    case 'SQLITE_CANTOPEN':
      return new TboxError(`cannot open the state database: ${message} (was the state directory removed?)`);
    case 'EACCES':
    case 'EPERM':
      return new TboxError(`permission denied${where}: ${message}`);
    default:
      return new TboxError(message.split('\n')[0] ?? 'unknown error');
  }
}
