/** Docker's exit codes: 125 when tbox itself fails, 126/127 when CMD can't run. */
export const EXIT_TBOX = 125;
export const EXIT_CANNOT_RUN = 126;
export const EXIT_NOT_FOUND = 127;

/** An error a user can act on: one line, and the exit code tbox ends with. */
export class TboxError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT_TBOX) {
    super(message);
    this.name = 'TboxError';
  }
}

export class NotFoundError extends TboxError {}
export class ConflictError extends TboxError {}
export class InvalidArgumentError extends TboxError {}
export class HostToolMissingError extends TboxError {}
export class UnsafeArchiveError extends TboxError {}
