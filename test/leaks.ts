/**
 * What tbox can leave on the host, as the kernel sees it: links (veths,
 * bridges), firewall rules and chains, monitors and their hooks, mounts
 * (overlays, nsfs bind mounts of a network namespace), cgroups, data roots
 * with their state dirs and partial downloads. Container namespaces are
 * anonymous, held only by processes, so a leaked one shows as a process.
 */
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { TEST_PREFIX } from './helpers.js';

export type Snapshot = Record<'netns' | 'links' | 'mounts' | 'processes' | 'roots' | 'iptables' | 'cgroups', string[]>;

function lines(cmd: string, args: string[]): string[] {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

function processes(): string[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        // Pid 1 here reaps orphans lazily: a zombie is already dead.
        if (/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return [];
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return /tbox-shim|tbox-test-|tbt\d/.test(cmd) && !cmd.includes('vitest') ? [`${pid} ${cmd}`] : [];
      } catch {
        return [];
      }
    });
}

function cgroups(): string[] {
  return lines('find', ['/sys/fs/cgroup', '-mindepth', '1', '-maxdepth', '4', '-type', 'd', '-name', '*tbox*']);
}

export function snapshot(): Snapshot {
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  return {
    netns: lines('ip', ['netns', 'list']).map((l) => l.split(' ')[0]!),
    links: lines('ip', ['-o', 'link', 'show']).map((l) => l.split(': ')[1]!.split('@')[0]!),
    mounts: mountinfo.filter((l) => l.includes(TEST_PREFIX) || / - nsfs /.test(l)).map((l) => l.split(' ')[4]!),
    processes: processes(),
    roots: fs.readdirSync(os.tmpdir()).filter((d) => `${os.tmpdir()}/${d}`.startsWith(TEST_PREFIX)),
    iptables: lines('iptables-save', []).filter((l) => /TBT\d|tbt\d|TBOX-[0-9a-f]{8}-/.test(l)),
    cgroups: cgroups(),
  };
}

/** What `after` has that `before` had not, as "kind: what" lines. */
export function leaked(before: Snapshot, after: Snapshot): string[] {
  return (Object.keys(after) as (keyof Snapshot)[]).flatMap((k) => after[k].filter((x) => !before[k].includes(x)).map((x) => `${k}: ${x}`));
}
