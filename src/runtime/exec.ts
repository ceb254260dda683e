/**
 * `tbox-runtime exec`: a process in a created or running container, from a
 * runtime-spec process.json (--process, as conmon and containerd give it) or
 * from the command line. It joins pid 1's namespaces and cgroup with the same
 * shim `tbox exec` uses, confined as the process asks; with --detach it is
 * handed to the engine's subreaper once it runs, without, tbox-runtime waits
 * and ends with its exit code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { envFileText, processConfinementArgs } from '../container/launch.js';
import { cgroupOfBundle, type BundleSpec } from './bundle.js';
import { runShim } from './shim.js';
import { statusOf, type RuntimeStore } from './state.js';

export interface ExecOptions {
  processFile?: string;
  /** used without --process */
  args: string[];
  cwd?: string;
  env: string[];
  user?: string;
  tty: boolean;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
}

/** The process to run: process.json, or the container's own with the command line's changes. */
function processOf(spec: BundleSpec, opts: ExecOptions): BundleSpec['process'] {
  if (opts.processFile) {
    const p = JSON.parse(fs.readFileSync(opts.processFile, 'utf8'));
    if (!Array.isArray(p.args) || p.args.length === 0) throw new InvalidArgumentError(`${opts.processFile}: args must be a non-empty list`);
    return {
      ...spec.process,
      ...p,
      user: { uid: Number(p.user?.uid ?? 0), gid: Number(p.user?.gid ?? 0) },
      capabilities: p.capabilities ?? spec.process.capabilities,
      env: p.env ?? [],
      cwd: p.cwd ?? '/',
    };
  }
  if (opts.args.length === 0) throw new InvalidArgumentError('exec needs a command (or --process FILE)');
  const [uid, gid] = (opts.user ?? '0:0').split(':').map(Number);
  return {
    ...spec.process,
    args: opts.args,
    terminal: opts.tty,
    cwd: opts.cwd ?? spec.process.cwd,
    env: [...spec.process.env, ...opts.env],
    user: { uid: uid ?? 0, gid: gid ?? 0 },
  };
}

/** The exit code when not detached; 0 once handed off. */
export async function execInContainer(store: RuntimeStore, id: string, opts: ExecOptions): Promise<number> {
  const record = store.read(id);
  const status = statusOf(record);
  if (status !== 'running' && status !== 'created') throw new ConflictError(`cannot exec in a container that is ${status}`);
  const spec = store.config(id);
  const proc = processOf(spec, opts);
  const tty = proc.terminal === true;
  const envFile = path.join(store.dir(id), `exec-env-${process.pid}`);
  fs.writeFileSync(envFile, envFileText(proc.env), { mode: 0o600 });
  try {
    const report = await runShim([
      '--join',
      String(record.pid),
      '--cwd',
      proc.cwd,
      '--env-file',
      envFile,
      '--report-fd',
      '3',
      ...(opts.detach ? ['--hand-off'] : []),
      ...(tty ? ['--tty', ...(opts.detach && opts.consoleSocket ? ['--console-socket', opts.consoleSocket] : [])] : []),
      ...(proc.user.uid !== 0 || proc.user.gid !== 0 ? ['--user', `${proc.user.uid}:${proc.user.gid}`] : []),
      ...processConfinementArgs({ ...spec, process: proc }, store.seccompPath(id)),
      ...cgroupOfBundle(spec, id)
        .joinDirs()
        .flatMap((d) => ['--cgroup', d]),
      '--',
      ...proc.args,
    ]);
    if (report.error) throw report.error;
    if (opts.pidFile && report.pid) fs.writeFileSync(opts.pidFile, String(report.pid));
    return opts.detach ? 0 : (report.exit ?? 1);
  } finally {
    fs.rmSync(envFile, { force: true });
  }
}
