/**
 * cgroup v1 (and hybrid hosts, like this one): one hierarchy per controller,
 * each with a <parent>/<id> directory for the container.
 */
import { makeKernelDir } from '../../host/command.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Cgroup, CgroupStats } from './cgroup.js';
import { readKeyed, readNumber, readText, removeDir, waitUntil, writeFile } from './files.js';
import type { Resources } from './resources.js';

const CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio', 'freezer'] as const;
type Controller = (typeof CONTROLLERS)[number];

export class CgroupV1 implements Cgroup {
  constructor(
    private readonly root: string,
    private readonly parent: string,
    private readonly id: string,
  ) {}

  private dir(c: Controller): string {
    return path.join(this.root, c, this.parent, this.id);
  }

  /** Controllers this host mounts (cpu and cpuacct may share one mount: then both names exist). */
  private present(): Controller[] {
    return CONTROLLERS.filter((c) => fs.existsSync(path.join(this.root, c)));
  }

  create(resources: Resources): void {
    for (const c of this.present()) makeKernelDir(this.dir(c));
    // A new cpuset starts with no CPUs and no memory nodes: copy them down.
    if (this.present().includes('cpuset')) {
      for (const level of [path.join(this.root, 'cpuset', this.parent), this.dir('cpuset')]) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          if (fs.readFileSync(path.join(level, f), 'utf8').trim() === '') {
            writeFile(level, f, fs.readFileSync(path.join(path.dirname(level), f), 'utf8').trim());
          }
        }
      }
    }
    this.update(resources);
  }

  update(r: Resources): void {
    const mem = this.dir('memory');
    if (r.memory?.limit !== undefined) {
      // memsw may not be below the memory limit at any moment: order the writes.
      const swap = r.memory.swap ?? -1;
      const hasSwap = fs.existsSync(path.join(mem, 'memory.memsw.limit_in_bytes'));
      const current = readNumber(path.join(mem, 'memory.limit_in_bytes')) ?? 0;
      if (hasSwap && r.memory.limit > current) writeFile(mem, 'memory.memsw.limit_in_bytes', swap);
      writeFile(mem, 'memory.limit_in_bytes', r.memory.limit);
      if (hasSwap) writeFile(mem, 'memory.memsw.limit_in_bytes', swap);
    }
    if (r.cpu?.shares !== undefined) writeFile(this.dir('cpu'), 'cpu.shares', r.cpu.shares);
    if (r.cpu?.period !== undefined) writeFile(this.dir('cpu'), 'cpu.cfs_period_us', r.cpu.period);
    if (r.cpu?.quota !== undefined) writeFile(this.dir('cpu'), 'cpu.cfs_quota_us', r.cpu.quota);
    if (r.cpu?.cpus !== undefined) writeFile(this.dir('cpuset'), 'cpuset.cpus', r.cpu.cpus);
    if (r.pids) writeFile(this.dir('pids'), 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max');
  }

  joinDirs(): string[] {
    return this.present().map((c) => this.dir(c));
  }

  pids(): number[] {
    try {
      return fs
        .readFileSync(path.join(this.dir('pids'), 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  }

  stats(): CgroupStats {
    const mem = this.dir('memory');
    const usage = readNumber(path.join(mem, 'memory.usage_in_bytes')) ?? 0;
    // Docker shows usage less the page cache it could drop.
    const inactive = readKeyed(path.join(mem, 'memory.stat')).total_inactive_file ?? 0;
    const limit = readNumber(path.join(mem, 'memory.limit_in_bytes'));
    const io = fs.existsSync(path.join(this.dir('blkio'), 'blkio.throttle.io_service_bytes'))
      ? fs.readFileSync(path.join(this.dir('blkio'), 'blkio.throttle.io_service_bytes'), 'utf8')
      : '';
    const sum = (op: string) =>
      io
        .split('\n')
        .filter((l) => l.split(' ')[1] === op)
        .reduce((n, l) => n + Number(l.split(' ')[2]), 0);
    return {
      cpuNs: readNumber(path.join(this.dir('cpuacct'), 'cpuacct.usage')) ?? 0,
      memoryBytes: Math.max(0, usage - inactive),
      // v1 says "no limit" with a huge number
      memoryLimit: limit !== undefined && limit < 2 ** 62 ? limit : undefined,
      pids: readNumber(path.join(this.dir('pids'), 'pids.current')) ?? 0,
      blockRead: sum('Read'),
      blockWrite: sum('Write'),
    };
  }

  freeze(frozen: boolean): void {
    const want = frozen ? 'FROZEN' : 'THAWED';
    writeFile(this.dir('freezer'), 'freezer.state', want);
    waitUntil(() => readText(path.join(this.dir('freezer'), 'freezer.state')) === want, `freezer.state ${want}`);
  }

  oomKilled(): boolean {
    return (readKeyed(path.join(this.dir('memory'), 'memory.oom_control')).oom_kill ?? 0) > 0;
  }

  destroy(): boolean {
    return this.present()
      .map((c) => removeDir(this.dir(c)))
      .every(Boolean);
  }
}
