/** Stopping containers: stop (TERM, then KILL), kill, wait, rm. */
import { isAlive, waitForExit } from '../host/proc.js';
import { ConflictError, NotFoundError, TboxError } from '../errors.js';
import { claimRemoval, releaseRemoval, findContainer, getContainer, markStoppedByUser, type ContainerRecord } from '../state/containers.js';
import { finalizeExit, isRunning, recordedExit, reconcile } from './reconcile.js';
import { destroyContainer } from './remove.js';
import { thawIfPaused } from './pause.js';
import { parseSignal } from './signals.js';

/** Wait for the monitor to go, then record the exit (and --rm) as reconcile would. */
async function awaitExit(c: ContainerRecord, timeoutMs: number): Promise<boolean> {
  if (!(await waitForExit(c.shimPid!, c.shimStartTicks, timeoutMs))) return false;
  const { code, at } = recordedExit(c.id);
  finalizeExit(c, code, at);
  return true;
}

function signal(c: ContainerRecord, sig: NodeJS.Signals | number): void {
  try {
    process.kill(c.pid!, sig);
  } catch {
    // gone already: the wait below sees it
  }
}

/** A container another tbox is starting has no pid 1 yet: wait until it has, or gave up. */
async function settled(c: ContainerRecord): Promise<ContainerRecord> {
  let now: ContainerRecord | undefined = c;
  // As long as the starting tbox lives (a minute at most): a loaded host can be slow to start.
  for (let i = 0; i < 2400 && now && now.state === 'running' && !now.pid && isAlive(now.shimPid, now.shimStartTicks); i++) {
    await new Promise((r) => setTimeout(r, 25));
    now = getContainer(c.id);
  }
  return now ?? c;
}

/** SIGKILL pid 1 (its monitor then records 137) and wait until the monitor is gone. */
export async function killNow(c: ContainerRecord): Promise<void> {
  if (!isRunning(c) || !c.pid) return;
  markStoppedByUser(c.id);
  signal(c, 'SIGKILL');
  thawIfPaused(c);
  if (!(await awaitExit({ ...c, autoRemove: false }, 10_000))) {
    throw new TboxError(`container ${c.name} did not die after SIGKILL (monitor pid ${c.shimPid})`);
  }
}

/**
 * `tbox stop`: the stop signal (SIGTERM unless --stop-signal or the image
 * says otherwise) to pid 1, SIGKILL after the timeout (-t, else the
 * container's --stop-timeout, else 10 s; -1 waits for ever), as Docker does.
 */
export async function stopContainer(ref: string, timeoutSeconds?: number): Promise<void> {
  reconcile();
  const target = findContainer(ref);
  // Also between two restarts by a policy: stopping ends the loop.
  markStoppedByUser(target.id);
  const c = await settled(target);
  if (!isRunning(c) || !c.pid) return;
  signal(c, parseSignal(c.spec.stopSignal ?? 'SIGTERM'));
  thawIfPaused(c);
  const seconds = timeoutSeconds ?? c.spec.stopTimeout ?? 10;
  if (await awaitExit(c, seconds < 0 ? Number.POSITIVE_INFINITY : seconds * 1000)) return;
  signal(c, 'SIGKILL');
  if (!(await awaitExit(c, 10_000))) throw new TboxError(`container ${c.name} did not stop after SIGKILL`);
}

/** `tbox kill`: a signal to pid 1, without waiting. */
export function killContainer(ref: string, sig: string): void {
  reconcile();
  const number = parseSignal(sig);
  const c = findContainer(ref);
  if (!isRunning(c) || !c.pid) throw new ConflictError(`cannot kill container ${ref}: container is not running`);
  markStoppedByUser(c.id);
  signal(c, number);
  thawIfPaused(c);
}

/** `tbox wait`: block until the container exits; its exit code. */
export async function waitContainer(ref: string): Promise<number> {
  reconcile();
  const c = findContainer(ref);
  if (isRunning(c)) await awaitExit(c, Number.POSITIVE_INFINITY);
  const after = getContainer(c.id);
  // With --rm the row may be gone already; the exit file went with it.
  return after?.exitCode ?? recordedExit(c.id).code;
}

/**
 * `tbox rm [-f]`: returns the ref as given, which Docker echoes. The row is
 * marked as being removed first, so a `start` racing it cannot take the
 * container any more, and one already starting is waited for, then killed.
 */
export async function removeContainer(ref: string, force: boolean, volumes = false): Promise<string> {
  reconcile();
  const c = findContainer(ref);
  const claim = claimRemoval(c.id, force);
  if (claim === 'gone') throw new NotFoundError(`No such container: ${ref}`);
  if (claim === 'removing') throw new ConflictError(`removal of container ${c.name} is already in progress`);
  if (claim === 'running') {
    throw new ConflictError(`cannot remove running container ${c.id.slice(0, 12)}: stop the container before removing it, or use rm -f`);
  }
  try {
    const now = await settled(getContainer(c.id) ?? c);
    if (now.state === 'running') await killNow(now);
    const current = getContainer(c.id);
    if (current) destroyContainer(current, { volumes });
  } catch (err) {
    releaseRemoval(c.id);
    throw err;
  }
  return ref;
}
