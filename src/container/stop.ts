import { isAlive, waitForExit } from '../host/proc.js';
import { ConflictError, TboxError } from '../errors.js';
import { findContainer, getContainer, type ContainerRecord } from '../state/containers.js';
import { finalizeExit, recordedExit, reconcile } from './reconcile.js';
import { destroyContainer } from './remove.js';

/** SIGKILL pid 1 (its monitor then records 137) and wait until the monitor is gone. */
export async function killNow(c: ContainerRecord): Promise<void> {
  if (!isAlive(c.shimPid, c.shimStartTicks) || !c.pid) return;
  try {
    process.kill(c.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  if (!(await waitForExit(c.shimPid!, c.shimStartTicks, 10_000))) {
    throw new TboxError(`container ${c.name} did not die after SIGKILL (monitor pid ${c.shimPid})`);
  }
  const { code, at } = recordedExit(c.id);
  finalizeExit({ ...c, autoRemove: false }, code, at);
}

/** `tbox rm [-f]`: returns the ref as given, which Docker echoes. */
export async function removeContainer(ref: string, force: boolean): Promise<string> {
  reconcile();
  const c = findContainer(ref);
  if (c.state === 'running') {
    if (!force) {
      throw new ConflictError(
        `cannot remove running container ${c.id.slice(0, 12)}: stop the container before removing it, or use rm -f`,
      );
    }
    await killNow(c);
  }
  const current = getContainer(c.id);
  if (current) destroyContainer(current);
  return ref;
}
