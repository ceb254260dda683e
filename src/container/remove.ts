import fs from 'node:fs';
import { teardown } from '../errors.js';
import { cgroupOf } from './cgroups/cgroup.js';
import { containerDir } from '../paths.js';
import { releaseContainerNetwork } from '../network/attach.js';
import { deleteContainer, type ContainerRecord } from '../state/containers.js';
import { removeAnonymousVolumes } from '../volume/volumes.js';
import { releaseView } from './copy/view.js';

/** Delete a stopped container: its writable layer, its files and its row; with volumes, its anonymous volumes too (rm -v, --rm). */
export function destroyContainer(c: ContainerRecord, opts: { volumes?: boolean } = {}): void {
  teardown([
    () => releaseContainerNetwork(c.id),
    () => cgroupOf(c.id).destroy(),
    () => releaseView(c.id),
    () => fs.rmSync(containerDir(c.id), { recursive: true, force: true, maxRetries: 3 }),
  ]);
  // The row goes last, and only when the rest is gone: a failure above
  // leaves the container listed, for another rm to finish.
  deleteContainer(c.id);
  if (opts.volumes) removeAnonymousVolumes((c.spec.mounts ?? []).filter((m) => m.anonymous).map((m) => m.source));
}
