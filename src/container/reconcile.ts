/**
 * tbox keeps no daemon, so every command first reconciles the database with
 * the kernel: a container whose monitor is gone is marked exited, and what it
 * held is released. This is also the crash recovery path.
 */
import fs from 'node:fs';
import { isAlive } from '../host/proc.js';
import { markExited, runningContainers, type ContainerRecord } from '../state/containers.js';
import { exitFilePath } from './launch.js';
import { destroyContainer } from './remove.js';
import { releaseContainerNetwork } from '../network/attach.js';

/** Running in the database and its monitor still alive (not a zombie, not a reused pid). */
export const isRunning = (c: ContainerRecord) => c.state === 'running' && isAlive(c.shimPid, c.shimStartTicks);

/** The code the shim recorded, or 137: a shim killed before it could write took pid 1 with it. */
export function recordedExit(id: string): { code: number; at: string } {
  try {
    const text = fs.readFileSync(exitFilePath(id), 'utf8').trim();
    if (text !== '') return { code: Number(text), at: fs.statSync(exitFilePath(id)).mtime.toISOString() };
  } catch {
    // no exit file: the container never got far enough to have one
  }
  return { code: 137, at: new Date().toISOString() };
}

/** Record the exit of a container whose processes are gone, once. */
export function finalizeExit(c: ContainerRecord, code: number, at: string): void {
  markExited(c.id, code, at);
  // Docker gives the address back when a container stops, not when it is removed.
  releaseContainerNetwork(c.id);
  if (c.autoRemove) destroyContainer(c);
}

export function reconcile(): void {
  for (const c of runningContainers()) {
    if (isAlive(c.shimPid, c.shimStartTicks)) continue;
    const { code, at } = recordedExit(c.id);
    finalizeExit(c, code, at);
  }
}
