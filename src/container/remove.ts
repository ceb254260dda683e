import fs from 'node:fs';
import { containerDir } from '../paths.js';
import { releaseContainerNetwork } from '../network/attach.js';
import { deleteContainer, type ContainerRecord } from '../state/containers.js';

/** Delete a stopped container: its writable layer, its files and its row. */
export function destroyContainer(c: ContainerRecord): void {
  releaseContainerNetwork(c.id);
  fs.rmSync(containerDir(c.id), { recursive: true, force: true });
  deleteContainer(c.id);
}
