/**
 * `tbox-runtime create`: everything of the container but its command. pid 1
 * is made in the bundle's namespaces, in its cgroup, with its root pivoted
 * and mounts in place, and then waits at the exec barrier (a FIFO it reads)
 * until `start` writes to it, as runc's exec.fifo does. The stages run in
 * this order, and a failure at any stage undoes the ones before it.
 */
import fs from 'node:fs';
import { run } from '../host/command.js';
import { UndoStack } from '../errors.js';
import { envFileText, confinementArgs, mountArgs, namespaceArgs } from '../container/launch.js';
import { shimRules } from '../container/security/seccomp.js';
import { readBundle, cgroupOfBundle, resourcesOf, type BundleSpec } from './bundle.js';
import { runHooks } from './hooks.js';
import { runShim } from './shim.js';
import { stateOf, startTicksOf, type RuntimeRecord, type RuntimeStore } from './state.js';

export interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
}

/** The shim's flags for pid 1 of this bundle. */
function shimArgs(store: RuntimeStore, id: string, spec: BundleSpec, cgroupDirs: string[], consoleSocket?: string): string[] {
  const user = spec.process.user;
  const newNetns = spec.linux.namespaces.some((n) => n.type === 'network' && !n.path);
  return [
    ...namespaceArgs(spec),
    '--rootfs',
    spec.root.path,
    ...(spec.hostname ? ['--hostname', spec.hostname] : []),
    '--cwd',
    spec.process.cwd,
    ...(user.uid !== 0 || user.gid !== 0 ? ['--user', `${user.uid}:${user.gid}`] : []),
    '--env-file',
    store.envPath(id),
    '--report-fd',
    '3',
    '--sync-fd',
    '4',
    '--hand-off',
    ...(newNetns ? ['--loopback-up'] : []),
    ...(spec.process.terminal ? ['--tty', ...(consoleSocket ? ['--console-socket', consoleSocket] : [])] : []),
    ...mountArgs(spec),
    ...confinementArgs(spec, store.seccompPath(id)),
    ...cgroupDirs.flatMap((d) => ['--cgroup', d]),
    '--',
    ...spec.process.args,
  ];
}

export async function createContainer(store: RuntimeStore, id: string, opts: CreateOptions): Promise<void> {
  const spec = readBundle(opts.bundle);
  store.claim(id);
  const undo = new UndoStack();
  undo.push(() => store.remove(id));
  try {
    const record: RuntimeRecord = {
      id,
      bundle: opts.bundle,
      rootfs: spec.root.path,
      created: new Date().toISOString(),
      started: false,
      annotations: spec.annotations,
    };
    store.write(record);
    fs.writeFileSync(store.configPath(id), JSON.stringify(spec));
    fs.writeFileSync(store.envPath(id), envFileText(spec.process.env), { mode: 0o600 });
    if (spec.linux.seccomp) fs.writeFileSync(store.seccompPath(id), shimRules(spec.linux.seccomp));

    const cgroup = cgroupOfBundle(spec, id);
    cgroup.create(resourcesOf(spec));
    undo.push(() => cgroup.destroy());

    run('mkfifo', ['-m', '0600', store.fifo(id)]);
    // O_RDWR: opening a FIFO for reading alone would wait for a writer. pid 1 keeps it; we let go at once.
    const barrier = fs.openSync(store.fifo(id), 'r+');
    let report;
    try {
      report = await runShim(shimArgs(store, id, spec, cgroup.joinDirs(), opts.consoleSocket), barrier);
    } finally {
      fs.closeSync(barrier);
    }
    if (report.pid) undo.push(() => killQuietly(report.pid!));
    if (report.error) throw report.error;
    record.pid = report.pid;
    record.pidStartTicks = startTicksOf(report.pid!);
    store.write(record);
    runHooks(spec, ['prestart', 'createRuntime'], stateOf(record, spec.ociVersion), { mayFail: false });
    // runc writes the pid without a newline; conmon and containerd read it either way
    if (opts.pidFile) fs.writeFileSync(opts.pidFile, String(report.pid));
  } catch (err) {
    undo.unwind(err);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
