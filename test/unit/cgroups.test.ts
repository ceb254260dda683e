/**
 * cgroup v2 against a fake cgroupfs tree (this host is v1 hybrid, most users'
 * are v2): every file the driver writes is checked. Also the limit flags.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CgroupV2 } from '../../src/container/cgroups/v2.js';
import { detectMode } from '../../src/container/cgroups/cgroup.js';
import { DEFAULT_PIDS_LIMIT, parseBytes, parseResources, sharesToWeight } from '../../src/container/cgroups/resources.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-unit-cgroup-'));
  fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  fs.writeFileSync(path.join(root, 'cgroup.subtree_control'), 'memory\n');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const read = (...p: string[]) => fs.readFileSync(path.join(root, ...p), 'utf8');

describe('cgroup v2 on a fake tree', () => {
  it('freezes with cgroup.freeze and waits for cgroup.events to say so (pause/unpause)', () => {
    const cg = new CgroupV2(root, 'tbox', 'cf');
    cg.create(parseResources({}));
    fs.writeFileSync(path.join(root, 'tbox', 'cf', 'cgroup.events'), 'populated 1\nfrozen 1\n');
    cg.freeze(true);
    expect(read('tbox', 'cf', 'cgroup.freeze')).toBe('1');
    // the kernel has not thawed it yet: freeze(false) waits, then gives up with one line
    expect(() => cg.freeze(false)).toThrow(/cgroup.freeze 0: the kernel did not finish/);
    fs.writeFileSync(path.join(root, 'tbox', 'cf', 'cgroup.events'), 'populated 1\nfrozen 0\n');
    cg.freeze(false);
    expect(read('tbox', 'cf', 'cgroup.freeze')).toBe('0');
  });

  it('enables the controllers down the tree and writes each limit', () => {
    const cg = new CgroupV2(root, 'tbox', 'c1');
    cg.create(parseResources({ memory: '32m', cpus: '0.5', cpuShares: '512', cpusetCpus: '0', pidsLimit: '20' }));
    // the root had memory already: only what is missing is asked for
    expect(read('cgroup.subtree_control')).toBe('+cpu +cpuset +io +pids');
    expect(read('tbox', 'cgroup.subtree_control')).toBe('+cpu +cpuset +io +memory +pids');
    expect(read('tbox', 'c1', 'memory.max')).toBe(String(32 * 1024 * 1024));
    // Docker's default swap is as much again; v2 counts swap alone
    expect(read('tbox', 'c1', 'memory.swap.max')).toBe(String(32 * 1024 * 1024));
    expect(read('tbox', 'c1', 'cpu.max')).toBe('50000 100000');
    expect(read('tbox', 'c1', 'cpu.weight')).toBe(String(sharesToWeight(512)));
    expect(read('tbox', 'c1', 'cpuset.cpus')).toBe('0');
    expect(read('tbox', 'c1', 'pids.max')).toBe('20');
    expect(cg.joinDirs()).toEqual([path.join(root, 'tbox', 'c1')]);
  });

  it('writes max for unlimited pids and swap, and the default pids limit of 2048', () => {
    const cg = new CgroupV2(root, 'tbox', 'c2');
    cg.create(parseResources({}));
    expect(read('tbox', 'c2', 'pids.max')).toBe(String(DEFAULT_PIDS_LIMIT));
    cg.update(parseResources({ memory: '64m', memorySwap: '-1', pidsLimit: '-1' }, false));
    expect(read('tbox', 'c2', 'memory.swap.max')).toBe('max');
    expect(read('tbox', 'c2', 'pids.max')).toBe('max');
  });

  it('reads stats, processes and OOM kills from the files the kernel keeps', () => {
    const cg = new CgroupV2(root, 'tbox', 'c3');
    cg.create(parseResources({ memory: '32m' }));
    const dir = path.join(root, 'tbox', 'c3');
    fs.writeFileSync(path.join(dir, 'memory.current'), '3145728\n');
    fs.writeFileSync(path.join(dir, 'memory.stat'), 'anon 1048576\ninactive_file 1048576\n');
    fs.writeFileSync(path.join(dir, 'cpu.stat'), 'usage_usec 2500\nuser_usec 2000\n');
    fs.writeFileSync(path.join(dir, 'pids.current'), '3\n');
    fs.writeFileSync(path.join(dir, 'io.stat'), '254:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n');
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), '101\n102\n');
    fs.writeFileSync(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n');
    expect(cg.stats()).toEqual({
      cpuNs: 2_500_000,
      memoryBytes: 2097152,
      memoryLimit: 33554432,
      pids: 3,
      blockRead: 4096,
      blockWrite: 8192,
    });
    expect(cg.pids()).toEqual([101, 102]);
    expect(cg.oomKilled()).toBe(false);
    fs.writeFileSync(path.join(dir, 'memory.events'), 'oom 1\noom_kill 1\n');
    expect(cg.oomKilled()).toBe(true);
  });

  it('tells v2 from v1 by the file system type, as runc does', () => {
    expect(detectMode(root)).toBe('v1');
    if (fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers')) expect(detectMode('/sys/fs/cgroup/unified')).toBe('v2');
  });
});

describe('limit flags', () => {
  it("reads Docker's sizes and refuses what Docker refuses", () => {
    expect(parseBytes('32m', '-m')).toBe(33554432);
    expect(parseBytes('1g', '-m')).toBe(1073741824);
    expect(parseBytes('512k', '-m')).toBe(524288);
    expect(parseBytes('1024', '-m')).toBe(1024);
    expect(() => parseBytes('lots', '--memory')).toThrow(/invalid --memory "lots"/);
    expect(() => parseResources({ memory: '1m' })).toThrow(/minimum memory limit allowed is 6MB/);
    expect(() => parseResources({ memorySwap: '1g' })).toThrow(/memory limit .* memory-swap/);
    expect(() => parseResources({ memory: '64m', memorySwap: '32m' })).toThrow(/larger than the memory limit/);
    expect(() => parseResources({ cpus: '-1' })).toThrow(/invalid --cpus/);
    expect(() => parseResources({ cpuShares: '1' })).toThrow(/2 to 262144/);
    expect(() => parseResources({ cpusetCpus: '0-' })).toThrow(/invalid --cpuset-cpus/);
    expect(() => parseResources({ pidsLimit: 'x' })).toThrow(/invalid --pids-limit/);
    expect(parseResources({ pidsLimit: '0' }).pids).toEqual({ limit: -1 });
  });
});
