/**
 * `tbox exec`: a new process in a running container's namespaces and root,
 * by nsenter(1) into pid 1's mount, uts, ipc, net and pid namespaces.
 */
import os from 'node:os';
import { start } from '../host/command.js';
import { isAlive } from '../host/proc.js';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { findContainer } from '../state/containers.js';
import { reconcile } from './reconcile.js';
import { envObject } from './spec.js';

export interface ExecOptions {
  container: string;
  cmd: string[];
  env: string[];
  workdir?: string;
  interactive: boolean;
  tty: boolean;
}

export async function execInContainer(opts: ExecOptions): Promise<number> {
  reconcile();
  const c = findContainer(opts.container);
  if (c.state !== 'running' || !c.pid || !isAlive(c.shimPid, c.shimStartTicks)) {
    throw new ConflictError(`container ${opts.container} is not running`);
  }
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory '${opts.workdir}' is invalid: it needs to be an absolute path`);
  }
  // -e KEY without a value takes the host's, as with run.
  const env = envObject([...c.spec.env, ...opts.env.map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`))]);
  const namespaces = ['--mount', '--uts', '--ipc', '--net', '--pid'];
  const child = start(
    'nsenter',
    ['--target', String(c.pid), ...namespaces, '--root', `--wdns=${opts.workdir ?? c.spec.cwd}`, '--', ...opts.cmd],
    { stdio: [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit'], env },
  );
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}
