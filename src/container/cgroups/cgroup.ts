/**
 * A container's cgroup: made before it starts, joined by its init (and by
 * exec'd processes) before exec, read for stats and OOM kills, removed with
 * the container. The driver is picked by the host's mode, detected as runc
 * does: a cgroup2 file system at /sys/fs/cgroup is the unified hierarchy
 * (v2), anything else (this host's tmpfs of v1 controllers) is v1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { removeKernelDir } from '../../host/command.js';
import type { Resources } from './resources.js';
import { CgroupV1 } from './v1.js';
import { CgroupV2 } from './v2.js';

export interface CgroupStats {
  /** cumulative CPU time, nanoseconds */
  cpuNs: number;
  memoryBytes: number;
  /** bytes, or undefined for no limit */
  memoryLimit?: number;
  pids: number;
  blockRead: number;
  blockWrite: number;
}

export interface Cgroup {
  /** Make the cgroup and write its limits. */
  create(resources: Resources): void;
  /** Change the limits of a running container (tbox update). */
  update(resources: Resources): void;
  /** The directories whose cgroup.procs a process writes to join (one per v1 controller). */
  joinDirs(): string[];
  pids(): number[];
  stats(): CgroupStats;
  /** Freeze (pause) or thaw every process in it; returns once the kernel says it is done. */
  freeze(frozen: boolean): void;
  /** Did the kernel's OOM killer kill anything in it? */
  oomKilled(): boolean;
  /** Remove it, once its processes are gone; true if nothing is left. */
  destroy(): boolean;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

export type CgroupMode = 'v1' | 'v2';

export function detectMode(root = '/sys/fs/cgroup'): CgroupMode {
  return fs.statfsSync(root).type === CGROUP2_SUPER_MAGIC ? 'v2' : 'v1';
}

/** The parent cgroup tbox puts containers under; TBOX_CGROUP_PARENT keeps the tests' apart. */
export const cgroupParent = () => process.env.TBOX_CGROUP_PARENT || 'tbox';

export function cgroupOf(containerId: string, root = '/sys/fs/cgroup', mode = detectMode(root)): Cgroup {
  return cgroupAt(cgroupParent(), containerId, root, mode);
}

/** A cgroup at parent/name below each hierarchy's root (tbox-runtime: a bundle's linux.cgroupsPath). */
export function cgroupAt(parent: string, name: string, root = '/sys/fs/cgroup', mode = detectMode(root)): Cgroup {
  return mode === 'v2' ? new CgroupV2(root, parent, name) : new CgroupV1(root, parent, name);
}

/** tbox's parent cgroup in each hierarchy (one on v2, one per controller on v1); containers' cgroups are below. */
export function cgroupParentDirs(root = '/sys/fs/cgroup'): string[] {
  return detectMode(root) === 'v2'
    ? [path.join(root, cgroupParent())]
    : fs.readdirSync(root).map((c) => path.join(root, c, cgroupParent()));
}

/** The parent cgroup in every hierarchy, if no container of anyone's is left in it (for system reset). */
export function removeCgroupParent(root = '/sys/fs/cgroup'): void {
  for (const dir of cgroupParentDirs(root)) {
    if (!fs.existsSync(dir)) continue;
    // another data root's containers live there (EBUSY, ENOTEMPTY): theirs to remove
    try {
      removeKernelDir(dir, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
    }
  }
}
