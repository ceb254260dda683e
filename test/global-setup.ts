/**
 * Builds once, then after the whole suite fails it if the tests left any
 * kernel object behind: a netns, a network link, a mount, a tbox process or a
 * data root. The snapshot taken first keeps a user's own objects out of it.
 */
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { repoDir, TEST_PREFIX } from './helpers.js';

function snapshot() {
  const lines = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const procs = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return /tbox-shim|tbox-test-|tbt/.test(cmd) ? [`${pid} ${cmd}`] : [];
      } catch {
        return [];
      }
    });
  return {
    netns: lines('ip', ['netns', 'list']).map((l) => l.split(' ')[0]!),
    links: lines('ip', ['-o', 'link', 'show']).map((l) => l.split(': ')[1]!.split('@')[0]!),
    mounts: fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(TEST_PREFIX))
      .map((l) => l.split(' ')[4]!),
    processes: procs.filter((p) => !p.includes('vitest')),
    roots: fs.readdirSync(os.tmpdir()).filter((d) => `${os.tmpdir()}/${d}`.startsWith(TEST_PREFIX)),
    iptables: lines('iptables-save', []).filter((l) => /TBT\d|tbt/.test(l)),
  };
}

export default function setup() {
  execFileSync('npm', ['run', 'build'], { cwd: repoDir, stdio: 'inherit' });
  const before = snapshot();
  return async function teardown() {
    // Pid 1 here reaps orphans lazily; give exiting processes a moment.
    let leaks: string[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const after = snapshot();
      leaks = (Object.keys(after) as (keyof typeof after)[]).flatMap((k) =>
        after[k].filter((x) => !before[k].includes(x)).map((x) => `${k}: ${x}`),
      );
      if (leaks.length === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the tests leaked kernel objects or files:\n  ${leaks.join('\n  ')}`);
  };
}
