/**
 * cgroup v2, the unified hierarchy most hosts run: one <parent>/<id>
 * directory, with the controllers enabled for it in each parent's
 * cgroup.subtree_control.
 */
import { makeKernelDir } from '../../host/command.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Cgroup, CgroupStats } from './cgroup.js';
import { readKeyed, readNumber, readText, removeDir, waitUntil, writeFile } from './files.js';
import { sharesToWeight, type Resources } from './resources.js';

const CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'pids'];

export class CgroupV2 implements Cgroup {
  private readonly dir: string;

  constructor(
    private readonly root: string,
    private readonly parent: string,
    id: string,
  ) {
    this.dir = path.join(root, parent, id);
  }

  /** Enable what the root offers for the parent and for the container's own cgroup. */
  private enableControllers(): void {
    const available = fs.readFileSync(path.join(this.root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    const wanted = CONTROLLERS.filter((c) => available.includes(c));
    for (const level of [this.root, path.join(this.root, this.parent)]) {
      const enabled = readText(path.join(level, 'cgroup.subtree_control')).split(/\s+/);
      const missing = wanted.filter((c) => !enabled.includes(c));
      if (missing.length > 0) writeFile(level, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
    }
  }

  create(resources: Resources): void {
    makeKernelDir(path.join(this.root, this.parent));
    this.enableControllers();
    makeKernelDir(this.dir);
    this.update(resources);
  }

  update(r: Resources): void {
    if (r.memory?.limit !== undefined) {
      writeFile(this.dir, 'memory.max', r.memory.limit);
      // v2 counts swap alone; OCI and Docker give memory plus swap.
      const swap = r.memory.swap ?? -1;
      writeFile(this.dir, 'memory.swap.max', swap < 0 ? 'max' : Math.max(0, swap - r.memory.limit));
    }
    if (r.cpu?.quota !== undefined || r.cpu?.period !== undefined) {
      writeFile(this.dir, 'cpu.max', `${r.cpu.quota ?? 'max'} ${r.cpu.period ?? 100_000}`);
    }
    if (r.cpu?.shares !== undefined) writeFile(this.dir, 'cpu.weight', sharesToWeight(r.cpu.shares));
    if (r.cpu?.cpus !== undefined) writeFile(this.dir, 'cpuset.cpus', r.cpu.cpus);
    if (r.pids) writeFile(this.dir, 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max');
  }

  joinDirs(): string[] {
    return [this.dir];
  }

  pids(): number[] {
    try {
      return fs.readFileSync(path.join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  stats(): CgroupStats {
    const usage = readNumber(path.join(this.dir, 'memory.current')) ?? 0;
    const inactive = readKeyed(path.join(this.dir, 'memory.stat')).inactive_file ?? 0;
    let blockRead = 0;
    let blockWrite = 0;
    try {
      for (const line of fs.readFileSync(path.join(this.dir, 'io.stat'), 'utf8').split('\n')) {
        blockRead += Number(/rbytes=(\d+)/.exec(line)?.[1] ?? 0);
        blockWrite += Number(/wbytes=(\d+)/.exec(line)?.[1] ?? 0);
      }
    } catch {
      // no io controller
    }
    return {
      cpuNs: (readKeyed(path.join(this.dir, 'cpu.stat')).usage_usec ?? 0) * 1000,
      memoryBytes: Math.max(0, usage - inactive),
      memoryLimit: readNumber(path.join(this.dir, 'memory.max')),
      pids: readNumber(path.join(this.dir, 'pids.current')) ?? 0,
      blockRead,
      blockWrite,
    };
  }

  /** v2's freezer is part of every cgroup: cgroup.freeze, with cgroup.events saying when it is done. */
  freeze(frozen: boolean): void {
    writeFile(this.dir, 'cgroup.freeze', frozen ? 1 : 0);
    const events = path.join(this.dir, 'cgroup.events');
    waitUntil(() => readKeyed(events).frozen === (frozen ? 1 : 0), `cgroup.freeze ${frozen ? 1 : 0}`);
  }

  oomKilled(): boolean {
    return (readKeyed(path.join(this.dir, 'memory.events')).oom_kill ?? 0) > 0;
  }

  destroy(): boolean {
    return removeDir(this.dir);
  }
}
