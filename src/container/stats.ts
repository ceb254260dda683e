/**
 * `tbox stats` and `tbox top`: what the kernel counts for a container, read
 * from its cgroup (CPU, memory, block I/O, pids) and its veth (network).
 */
import fs from 'node:fs';
import os from 'node:os';
import { ConflictError } from '../errors.js';
import { findContainer, listContainers, type ContainerRecord } from '../state/containers.js';
import { leaseOf } from '../state/networks.js';
import { cgroupOf } from './cgroups/cgroup.js';
import { isRunning, reconcile } from './reconcile.js';

export interface StatsSample {
  id: string;
  name: string;
  cpuNs: number;
  at: bigint;
  memory: number;
  limit: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

function counter(veth: string, name: string): number {
  try {
    return Number(fs.readFileSync(`/sys/class/net/${veth}/statistics/${name}`, 'utf8'));
  } catch {
    return 0;
  }
}

export function sample(c: ContainerRecord): StatsSample {
  const s = cgroupOf(c.id).stats();
  const veth = leaseOf(c.id)?.hostVeth;
  return {
    id: c.id,
    name: c.name,
    cpuNs: s.cpuNs,
    at: process.hrtime.bigint(),
    memory: s.memoryBytes,
    // no limit: the host's memory is the limit, as Docker shows it
    limit: s.memoryLimit ?? os.totalmem(),
    // what the host's end sends, the container receives
    netRx: veth ? counter(veth, 'tx_bytes') : 0,
    netTx: veth ? counter(veth, 'rx_bytes') : 0,
    blockRead: s.blockRead,
    blockWrite: s.blockWrite,
    pids: s.pids,
  };
}

/** The containers to show: those named, or every running one. */
export function statsTargets(refs: string[]): ContainerRecord[] {
  reconcile();
  if (refs.length === 0) return listContainers().filter(isRunning);
  return refs.map((r) => findContainer(r));
}

/** CPU % between two samples: of one CPU, as Docker's figure reads on a host with any number of them. */
export const cpuPercent = (a: StatsSample, b: StatsSample) => {
  const wall = Number(b.at - a.at);
  return wall > 0 ? ((b.cpuNs - a.cpuNs) / wall) * 100 : 0;
};

export interface TopRow {
  UID: string;
  PID: string;
  PPID: string;
  C: string;
  STIME: string;
  TTY: string;
  TIME: string;
  CMD: string;
}

const TICKS = 100;

/** `tbox top`: the container's processes in `ps -ef` columns, from /proc. */
export function topOf(ref: string): TopRow[] {
  reconcile();
  const c = findContainer(ref);
  if (!isRunning(c)) throw new ConflictError(`container ${ref} is not running`);
  const boot = Date.now() / 1000 - Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return cgroupOf(c.id)
    .pids()
    .sort((a, b) => a - b)
    .flatMap((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
        const cpu = Math.floor((Number(f[11]) + Number(f[12])) / TICKS);
        const start = new Date((boot + Number(f[19]) / TICKS) * 1000);
        const hhmm = (d: Date) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
        const time = [Math.floor(cpu / 3600), Math.floor(cpu / 60) % 60, cpu % 60].map((n) => String(n).padStart(2, '0')).join(':');
        return [
          {
            UID: uid === '0' ? 'root' : uid,
            PID: String(pid),
            PPID: f[1]!,
            C: '0',
            STIME: hhmm(start),
            TTY: '?',
            TIME: time,
            CMD: cmd || `[${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}]`,
          },
        ];
      } catch {
        return []; // exited meanwhile
      }
    });
}
