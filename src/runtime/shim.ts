/**
 * The shim as tbox-runtime drives it: the same tbox-shim `tbox run` uses,
 * reporting on fd 3 (see src/shim/main.c). With --hand-off it exits as soon
 * as pid 1 waits at the exec barrier (or an exec'd process runs), leaving it
 * to the engine's subreaper (conmon, containerd's shim), as runc does.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { StdioOptions } from 'node:child_process';
import { start } from '../host/command.js';
import { shimPath } from '../paths.js';
import { TboxError } from '../errors.js';

export interface ShimReport {
  /** host pid of pid 1 (or of the exec'd process) */
  pid?: number;
  /** created: waiting at the barrier; ready: exec'd */
  reached?: 'created' | 'ready';
  error?: TboxError;
  /** without --hand-off: the process's exit code */
  exit?: number;
}

/** Run the shim to its end and collect its report; fd 4 is the exec barrier, if given. */
export function runShim(args: string[], barrierFd?: number): Promise<ShimReport> {
  const stdio: StdioOptions = ['inherit', 'inherit', 'inherit', 'pipe', barrierFd ?? 'ignore'];
  const child = start(shimPath, args, { stdio });
  const report: ShimReport = {};
  return new Promise((resolve, reject) => {
    child.on('error', (err) => reject(new TboxError(`cannot start ${shimPath}: ${err.message}`)));
    let closed = false;
    let status: number | null | undefined;
    const settle = () => {
      if (!closed || status === undefined) return;
      if (report.exit === undefined && !report.reached && !report.error) {
        report.error = new TboxError(`the shim exited ${status ?? 'on a signal'} before the container was created`);
      }
      resolve(report);
    };
    createInterface({ input: child.stdio[3] as Readable })
      .on('line', (line) => {
        const [word, arg, ...rest] = line.split(' ');
        if (word === 'pid') report.pid = Number(arg);
        else if (word === 'created' || word === 'ready') report.reached = word;
        else if (word === 'error') report.error = new TboxError(rest.join(' '), Number(arg));
        else if (word === 'exit') report.exit = Number(arg);
      })
      .on('close', () => {
        closed = true;
        settle();
      });
    child.on('exit', (code, signal) => {
      status = code ?? (signal ? null : 1);
      settle();
    });
  });
}
