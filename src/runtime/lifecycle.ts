/**
 * tbox-runtime's start, kill, delete and ps: what the engine does to a
 * container after create, each checked against the status the kernel shows.
 */
import fs from 'node:fs';
import { ConflictError, TboxError } from '../errors.js';
import { parseSignal } from '../container/signals.js';
import { waitForExit } from '../host/proc.js';
import { cgroupOfBundle } from './bundle.js';
import { runHooks } from './hooks.js';
import { stateOf, statusOf, type RuntimeState, type RuntimeStore } from './state.js';

export function containerState(store: RuntimeStore, id: string): RuntimeState {
  return stateOf(store.read(id), store.config(id).ociVersion);
}

/** Open the barrier: pid 1 reads the byte and goes on to exec. */
export function startContainer(store: RuntimeStore, id: string): void {
  const record = store.read(id);
  const status = statusOf(record);
  if (status !== 'created') throw new ConflictError(`cannot start a container that is ${status}`);
  // pid 1 holds the FIFO open, so this open does not wait; O_NONBLOCK makes sure of it.
  const fd = fs.openSync(store.fifo(id), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  try {
    fs.writeSync(fd, '1');
  } finally {
    fs.closeSync(fd);
  }
  fs.rmSync(store.fifo(id), { force: true });
  record.started = true;
  store.write(record);
  const spec = store.config(id);
  runHooks(spec, ['poststart'], stateOf(record, spec.ociVersion), { mayFail: true });
}

/** runc's kill: pid 1, or with --all every process in the container's cgroup. */
export function killContainer(store: RuntimeStore, id: string, signal: string, all: boolean): void {
  const record = store.read(id);
  const status = statusOf(record);
  if (status === 'stopped' || status === 'creating') throw new ConflictError(`container ${id} is not running`);
  signalAll(all ? cgroupOfBundle(store.config(id), id).pids() : [record.pid!], parseSignal(signal));
}

function signalAll(pids: number[], sig: number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/**
 * Remove what create made: the cgroup, then poststop hooks, then the record.
 * A created container is killed first, as runc does; a running one only
 * with force. A missing one is an error, or nothing with force.
 */
export async function deleteContainer(store: RuntimeStore, id: string, force: boolean): Promise<void> {
  if (!store.exists(id)) {
    if (force) return;
    throw new TboxError(`container ${id} does not exist`, 1);
  }
  let record;
  try {
    record = store.read(id);
  } catch {
    // a create that died before its first write: nothing but the directory
    store.remove(id);
    return;
  }
  const spec = store.config(id);
  const status = statusOf(record);
  if (status === 'running' && !force) throw new ConflictError(`cannot delete container ${id} that is not stopped: use --force`);
  if (status === 'running' || status === 'created') {
    killContainer(store, id, 'KILL', true);
    if (!(await waitForExit(record.pid!, record.pidStartTicks ?? null, 10_000)))
      throw new TboxError(`container ${id} did not die after SIGKILL`, 1);
  }
  const cgroup = cgroupOfBundle(spec, id);
  // stray processes of a pid 1 that was never in a pid namespace of its own
  signalAll(cgroup.pids(), 9);
  if (!cgroup.destroy()) throw new TboxError(`the cgroup of ${id} is still busy`, 1);
  runHooks(spec, ['poststop'], { ...stateOf(record, spec.ociVersion), status: 'stopped', pid: 0 }, { mayFail: true });
  store.remove(id);
}

/** The host pids in the container's cgroup. */
export function containerPids(store: RuntimeStore, id: string): number[] {
  store.read(id);
  return cgroupOfBundle(store.config(id), id).pids();
}
