/**
 * `tbox pause` / `unpause`: the freezer cgroup stops every process of the
 * container where it is (no signal it could catch), and thaws them later.
 */
import { ConflictError } from '../errors.js';
import { findContainer, setPaused, type ContainerRecord } from '../state/containers.js';
import { cgroupOf } from './cgroups/cgroup.js';
import { isRunning, reconcile } from './reconcile.js';
import { whileHeld } from '../host/held.js';

export function pauseContainer(ref: string): void {
  reconcile();
  const c = findContainer(ref);
  if (!isRunning(c)) throw new ConflictError(`Container ${c.id} is not running`);
  if (c.paused) throw new ConflictError(`Container ${c.id} is already paused`);
  cgroupOf(c.id).freeze(true);
  setPaused(c.id, true);
}

export function unpauseContainer(ref: string): void {
  reconcile();
  const c = findContainer(ref);
  if (!isRunning(c) || !c.paused) throw new ConflictError(`Container ${c.id} is not paused`);
  thawIfPaused(c);
}

/**
 * Freeze a running container for the length of `use` (cp, export, commit), as
 * Docker pauses it so nothing changes under the reader; one the user paused,
 * or one not running, is left as it is.
 */
export async function whileFrozen<T>(c: ContainerRecord, use: () => Promise<T>): Promise<T> {
  if (!(isRunning(c) && c.pid && !c.paused)) return use();
  cgroupOf(c.id).freeze(true);
  return whileHeld(() => cgroupOf(c.id).freeze(false), use);
}

/** A frozen process acts on no signal: stop, kill and rm -f thaw it after signalling, as Docker does. */
export function thawIfPaused(c: ContainerRecord): void {
  if (!c.paused) return;
  cgroupOf(c.id).freeze(false);
  setPaused(c.id, false);
}
