/**
 * tbox keeps no daemon, so every command first reconciles the database with
 * the kernel: a container whose monitor is gone is marked exited, and what it
 * held is released. This is also the crash recovery path.
 */
import fs from 'node:fs';
import { isAlive } from '../host/proc.js';
import { abandonStart, markExited, runningContainers, type ContainerRecord } from '../state/containers.js';
import { asTboxError, teardown } from '../errors.js';
import { cgroupOf } from './cgroups/cgroup.js';
import { exitFilePath } from '../paths.js';
import type * as Remove from './remove.js';
import type * as Attach from '../network/attach.js';

// Required only when a container has exited since the last command: every
// command reconciles, and these two load the network and volume code (~6 ms).
const releaseContainerNetwork = (id: string) => (require('../network/attach.js') as typeof Attach).releaseContainerNetwork(id);
const destroyContainer = (...args: Parameters<typeof Remove.destroyContainer>) =>
  (require('./remove.js') as typeof Remove).destroyContainer(...args);

/** Running in the database and its monitor still alive (not a zombie, not a reused pid). */
export const isRunning = (c: ContainerRecord) => c.state === 'running' && isAlive(c.shimPid, c.shimStartTicks);

/** The code the shim recorded, or 137: a shim killed before it could write took pid 1 with it. */
export function recordedExit(id: string): { code: number; at: string } {
  try {
    // Blank while the container runs (the shim writes the code over it).
    const text = fs.readFileSync(exitFilePath(id), 'utf8').trim();
    if (/^\d{1,3}$/.test(text)) return { code: Number(text), at: fs.statSync(exitFilePath(id)).mtime.toISOString() };
  } catch {
    // no exit file: the container never got far enough to have one
  }
  return { code: 137, at: new Date().toISOString() };
}

/** Record the exit of a container whose processes are gone, once. */
export function finalizeExit(c: ContainerRecord, code: number, at: string): void {
  // Read before the cgroup goes: the kernel's own count, not a guess from 137.
  const cgroup = cgroupOf(c.id);
  markExited(c.id, code, at, cgroup.oomKilled());
  teardown([
    // Docker gives the address back when a container stops, not when it is removed.
    () => releaseContainerNetwork(c.id),
    () => cgroup.destroy(),
  ]);
  if (c.autoRemove) destroyContainer(c, { volumes: true });
}

/**
 * Every container whose monitor is gone: one that got as far as a pid 1 has
 * exited (with the code its shim recorded); one whose starting tbox died
 * before that is back to where it was (abandonStart). Either way what it
 * held is given back. A failure with one container does not stop the
 * others; each is reported on stderr and tried again by the next command.
 */
export function reconcile(): void {
  for (const c of runningContainers()) {
    if (isAlive(c.shimPid, c.shimStartTicks)) continue;
    try {
      if (c.pid === null) {
        abandonStart(c.id);
        teardown([() => releaseContainerNetwork(c.id), () => cgroupOf(c.id).destroy()]);
        continue;
      }
      const { code, at } = recordedExit(c.id);
      finalizeExit(c, code, at);
    } catch (err) {
      process.stderr.write(`tbox: warning: cleaning up after container ${c.name}: ${asTboxError(err).message}\n`);
    }
  }
}
