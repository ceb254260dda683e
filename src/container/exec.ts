/**
 * `tbox exec`: a new process in a running container's namespaces and root.
 * The shim joins pid 1's mount, uts, ipc, net and pid namespaces and forks
 * the command there (with -t, on a pty from the container's own devpts).
 * The container's environment reaches only that command: the shim itself is
 * a host process and runs with tbox's own (see hostEnv).
 */
import os from 'node:os';
import type { StdioOptions } from 'node:child_process';
import type { Writable } from 'node:stream';
import { start } from '../host/command.js';
import { shimPath } from '../paths.js';
import { lookupImage, lowerDirs } from '../image/lookup.js';
import { resolveUser } from '../image/user.js';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { findContainer } from '../state/containers.js';
import { isRunning, reconcile } from './reconcile.js';
import { mergeEnv, resolveEnvEntry } from './spec.js';
import { envFileText, processConfinementArgs } from './launch.js';
import { readOciSpecOf, seccompRulesPath } from './oci.js';
import { cgroupOf } from './cgroups/cgroup.js';

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
  if (c.paused) throw new ConflictError(`container ${opts.container} is paused, unpause the container before exec`);
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory '${opts.workdir}' is invalid: it needs to be an absolute path`);
  }
  const cwd = opts.workdir ?? c.spec.cwd;
  const userSpec = opts.user ?? c.spec.user;
  const image = userSpec ? lookupImage(c.imageId) : undefined;
  const user = userSpec && image ? resolveUser(userSpec, lowerDirs(image)) : undefined;
  // -u OTHER: HOME is that user's, unless -e sets it. -e KEY takes the host's value or is dropped, as with run.
  const home = opts.user && user?.home ? [`HOME=${user.home}`] : [];
  const extra = opts.env.map(resolveEnvEntry).filter((e): e is string => e !== undefined);
  const env = mergeEnv([c.spec.env, home, extra]);
  const stdio: StdioOptions = [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit', 'pipe'];
  const child = start(
    shimPath,
    [
      '--join',
      String(c.pid),
      '--cwd',
      cwd,
      '--env-fd',
      '3',
      ...(opts.tty ? ['--tty', '--tee'] : []),
      ...(opts.tty && opts.interactive ? ['--interactive'] : []),
      ...(user ? ['--user', `${user.uid}:${user.gid}`] : []),
      // The container's own capabilities and no_new_privs, from its config.json.
      ...processConfinementArgs(readOciSpecOf(c), seccompRulesPath(c.id)),
      // exec'd processes count against the container's limits
      ...cgroupOf(c.id)
        .joinDirs()
        .flatMap((d) => ['--cgroup', d]),
      '--',
      ...opts.cmd,
    ],
    { stdio },
  );
  // A shim that dies before reading its env resets the pipe: its exit status tells the story.
  (child.stdio[3] as Writable).on('error', () => {}).end(envFileText(env));
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
