/**
 * Volumes: named directories in the data root that outlive containers, as
 * Docker's local driver keeps them (<root>/volumes/<name>/_data). A volume
 * any container refers to, running or not, cannot be removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { volumeDataDir } from '../paths.js';
import { write } from '../state/db.js';
import { listContainers } from '../state/containers.js';
import { deleteVolume, getVolume, insertVolume, listVolumes, type VolumeRecord } from '../state/volumes.js';

/** Docker's rule for volume names. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function checkVolumeName(name: string): string {
  if (!VOLUME_NAME.test(name) || name.length > 255) {
    throw new InvalidArgumentError(`invalid volume name "${name}": two or more of [a-zA-Z0-9_.-], starting with a letter or digit`);
  }
  return name;
}

/** Make a volume (a new anonymous one when no name is given); an existing name is returned as it is. */
export function createVolume(name?: string): VolumeRecord {
  const v = insertVolume({
    name: name === undefined ? randomBytes(32).toString('hex') : checkVolumeName(name),
    anonymous: name === undefined,
    createdAt: new Date().toISOString(),
  });
  fs.mkdirSync(volumeDataDir(v.name), { recursive: true, mode: 0o755 });
  return v;
}

/** The volume's directory, made again if it went missing (a volume removed while a container was being created). */
export function ensureVolumeDir(name: string): string {
  const dir = volumeDataDir(checkVolumeName(name));
  if (!getVolume(name)) createVolume(name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Names of the containers that refer to a volume. */
export function volumeUsers(name: string): string[] {
  return listContainers()
    .filter((c) => (c.spec.mounts ?? []).some((m) => m.type === 'volume' && m.source === name))
    .map((c) => c.name);
}

export function findVolume(name: string): VolumeRecord {
  const v = getVolume(name);
  if (!v) throw new NotFoundError(`get ${name}: no such volume`);
  return v;
}

/** Remove a volume nobody uses: row and data, under the write lock so no container is made with it meanwhile. */
export function removeVolume(name: string): void {
  write((db) => {
    findVolume(name);
    const users = volumeUsers(name);
    if (users.length) throw new ConflictError(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    deleteVolume(name, db);
  });
  fs.rmSync(path.dirname(volumeDataDir(name)), { recursive: true, force: true, maxRetries: 3 });
}

/** Disk use of a volume's tree, for prune's total. */
function sizeOf(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else total += fs.lstatSync(p).size;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return total;
}

/** `volume prune`: unused anonymous volumes (all unused with `all`, as Docker's -a). */
export function pruneVolumes(all: boolean): { removed: string[]; reclaimed: number } {
  const removed: string[] = [];
  let reclaimed = 0;
  for (const v of listVolumes()) {
    if ((!all && !v.anonymous) || volumeUsers(v.name).length) continue;
    const size = sizeOf(volumeDataDir(v.name));
    try {
      removeVolume(v.name);
    } catch (err) {
      if (err instanceof ConflictError) continue; // taken into use meanwhile
      throw err;
    }
    removed.push(v.name);
    reclaimed += size;
  }
  return { removed, reclaimed };
}

/** The `docker volume inspect` shape. */
export function inspectVolume(v: VolumeRecord) {
  return {
    CreatedAt: v.createdAt,
    Driver: 'local',
    Labels: v.anonymous ? { 'com.docker.volume.anonymous': '' } : null,
    Mountpoint: volumeDataDir(v.name),
    Name: v.name,
    Options: null,
    Scope: 'local',
  };
}

/** A container's anonymous volumes, removed with it by rm -v and --rm (when nothing else uses them). */
export function removeAnonymousVolumes(names: string[]): void {
  for (const name of names) {
    const v = getVolume(name);
    if (v?.anonymous && volumeUsers(name).length === 0) removeVolume(name);
  }
}
