/**
 * `tbox exec`: a new process in a running container's namespaces and root:
 * nsenter(1) into pid 1's mount, uts, ipc, net and pid namespaces, or with
 * -t the shim, which does the same and adds a pty from the container's devpts.
 */
import os from 'node:os';
import type { StdioOptions } from 'node:child_process';
import { start } from '../host/command.js';
import { shimPath } from '../paths.js';
import { lookupImage, lowerDirs } from '../image/store.js';
import { resolveUser } from '../image/user.js';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { findContainer } from '../state/containers.js';
import { isRunning, reconcile } from './reconcile.js';
import { envObject } from './spec.js';

export interface ExecOptions {
  container: string;
  cmd: string[];
  env: string[];
  workdir?: string;
  interactive: boolean;
  tty: boolean;
  /** -u; by default the container's own user, as Docker does */
  user?: string;
}

export async function execInContainer(opts: ExecOptions): Promise<number> {
  reconcile();
  const c = findContainer(opts.container);
  if (!isRunning(c) || !c.pid) {
    throw new ConflictError(`container ${opts.container} is not running`);
  }
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory '${opts.workdir}' is invalid: it needs to be an absolute path`);
  }
  // -e KEY without a value takes the host's, as with run.
  const env = envObject([...c.spec.env, ...opts.env.map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`))]);
  const cwd = opts.workdir ?? c.spec.cwd;
  const userSpec = opts.user ?? c.spec.user;
  const image = userSpec ? lookupImage(c.imageId) : undefined;
  const user = userSpec && image ? resolveUser(userSpec, lowerDirs(image)) : undefined;
  const stdio: StdioOptions = [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit'];
  // -t needs a pty from the container's own devpts, which the shim makes;
  // otherwise nsenter(1) does the whole job, in plain sight.
  const child = opts.tty
    ? start(
        shimPath,
        [
          '--join', String(c.pid), '--cwd', cwd, '--tty', '--tee',
          ...(opts.interactive ? ['--interactive'] : []),
          ...(user ? ['--user', `${user.uid}:${user.gid}`] : []),
          '--', ...opts.cmd,
        ],
        { stdio, env },
      )
    : start(
        'nsenter',
        [
          '--target', String(c.pid), '--mount', '--uts', '--ipc', '--net', '--pid', '--root', `--wdns=${cwd}`,
          ...(user ? [`--setuid=${user.uid}`, `--setgid=${user.gid}`] : []),
          '--', ...opts.cmd,
        ],
        { stdio, env },
      );
  const raw = opts.tty && opts.interactive && process.stdin.isTTY;
  if (raw) process.stdin.setRawMode(true);
  try {
    return await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    });
  } finally {
    if (raw) process.stdin.setRawMode(false);
  }
}
