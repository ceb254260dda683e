/**
 * Limits on the real kernel (cgroup v1 here): the files tbox writes, an OOM
 * kill reported as the kernel counted it, a pids limit that holds for exec'd
 * processes too, stats, top, update, and no cgroup left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, makeSandbox, type Sandbox } from '../helpers.js';

let box: Sandbox;
let parent: string;
beforeAll(() => {
  box = makeSandbox();
  parent = box.env.TBOX_CGROUP_PARENT!;
});
afterAll(() => box.cleanup());

const cg = (controller: string, id: string, file: string) =>
  fs.readFileSync(path.join('/sys/fs/cgroup', controller, parent, id, file), 'utf8').trim();
const cgroupDirs = (id: string) =>
  ['memory', 'cpu', 'pids', 'cpuset'].map((c) => path.join('/sys/fs/cgroup', c, parent, id)).filter((d) => fs.existsSync(d));

describe('cgroup limits (v1, real kernel)', () => {
  it('writes -m 32m --cpus 0.5 --pids-limit 20 into the cgroup files, and pid 1 is in them', () => {
    const id = box
      .tbox(['run', '-d', '--network', 'none', '-m', '32m', '--cpus', '0.5', '--pids-limit', '20', 'busybox', 'sleep', '60'])
      .stdout.trim();
    expect(cg('memory', id, 'memory.limit_in_bytes')).toBe('33554432');
    expect(cg('memory', id, 'memory.memsw.limit_in_bytes')).toBe('67108864');
    expect(cg('cpu', id, 'cpu.cfs_quota_us')).toBe('50000');
    expect(cg('cpu', id, 'cpu.cfs_period_us')).toBe('100000');
    expect(cg('pids', id, 'pids.max')).toBe('20');
    const pid = box.tbox(['inspect', '-f', '{{.State.Pid}}', id]).stdout.trim();
    expect(cg('pids', id, 'cgroup.procs').split('\n')).toContain(pid);
    expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`memory:/${parent}/${id}`);
    const stats = box.tbox(['stats', '--no-stream', id]).stdout;
    expect(stats).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS\n/);
    expect(stats).toMatch(/ \/ 32MiB /);
    expect(JSON.parse(box.tbox(['stats', '--no-stream', '--format', 'json', id]).stdout)).toMatchObject({
      PIDs: '1',
      MemUsage: expect.stringMatching(/ \/ 32MiB$/),
    });
    const top = box.tbox(['top', id]).stdout;
    expect(top).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n/);
    expect(top).toMatch(new RegExp(`\\nroot\\s+${pid}\\s+\\d+ .*sleep 60\\n$`));
    expect(box.tbox(['update', '--memory', '64m', '--pids-limit', '30', id]).code).toBe(0);
    expect(cg('memory', id, 'memory.limit_in_bytes')).toBe('67108864');
    expect(cg('pids', id, 'pids.max')).toBe('30');
    expect(box.tbox(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}', id]).stdout).toBe('67108864 30\n');
    box.tbox(['rm', '-f', id]);
    expect(cgroupDirs(id)).toEqual([]);
  });

  it('a default container has pids.max 2048; --pids-limit -1 has none', () => {
    const id = box.tbox(['run', '-d', '--network', 'none', 'busybox', 'sleep', '60']).stdout.trim();
    expect(cg('pids', id, 'pids.max')).toBe('2048');
    const free = box.tbox(['run', '-d', '--network', 'none', '--pids-limit', '-1', 'busybox', 'sleep', '60']).stdout.trim();
    expect(cg('pids', free, 'pids.max')).toBe('max');
    box.tbox(['rm', '-f', id, free]);
  });

  it('a memory hog under -m 32m is OOM-killed: exit 137 and State.OOMKilled, as the kernel counted it', () => {
    // ulimit -v keeps a bug in tbox's limits from taking the host's memory instead.
    const r = box.tbox([
      'run',
      '--name',
      'hog',
      '--network',
      'none',
      '-m',
      '32m',
      'busybox',
      'sh',
      '-c',
      'ulimit -v 400000; a=$(head -c 150000000 /dev/zero | tr "\\0" x); echo survived',
    ]);
    expect(r.code).toBe(137);
    expect(r.stdout).toBe('');
    expect(box.tbox(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'hog']).stdout).toBe('true 137\n');
    expect(box.tbox(['ps', '-a', '--format', '{{.Names}} {{.Status}}']).stdout).toMatch(/^hog Exited \(137\) /m);
    // a container that simply exits 137 was not OOM-killed
    box.tbox(['run', '--name', 'plain137', '--network', 'none', 'busybox', 'sh', '-c', 'exit 137']);
    expect(box.tbox(['inspect', '-f', '{{.State.OOMKilled}}', 'plain137']).stdout).toBe('false\n');
    box.tbox(['rm', 'hog', 'plain137']);
  });

  it("exec'd processes join the container's cgroup: 40 background sleeps under --pids-limit 20 get at most 20", () => {
    const id = box.tbox(['run', '-d', '--network', 'none', '--pids-limit', '20', 'busybox', 'sleep', '60']).stdout.trim();
    const r = box.tbox([
      'exec',
      id,
      'sh',
      '-c',
      'for i in $(seq 1 40); do sleep 30 >/dev/null 2>&1 & done 2>/dev/null; sleep 1; ls /proc | grep -c "^[0-9]"',
    ]);
    expect(Number(cg('pids', id, 'pids.current'))).toBeLessThanOrEqual(20);
    expect(Number(r.stdout.trim())).toBeLessThanOrEqual(20);
    expect(Number(cg('pids', id, 'pids.current'))).toBeGreaterThan(10);
    box.tbox(['rm', '-f', id]);
    expect(cgroupDirs(id)).toEqual([]);
  });

  it('leaves no cgroup after kill -9 of the monitor, once any tbox command has run', async () => {
    const id = box.tbox(['run', '-d', '--network', 'none', 'busybox', 'sleep', '60']).stdout.trim();
    const shim = Number(box.tbox(['inspect', '-f', '{{.MonitorPid}}', id]).stdout.trim());
    expect(cgroupDirs(id).length).toBeGreaterThan(0);
    process.kill(shim, 'SIGKILL');
    await eventually(() => {
      box.tbox(['ps', '-a']);
      return cgroupDirs(id).length === 0;
    });
    box.tbox(['rm', id]);
  });
});
