/**
 * Faults and races: a full disk, a corrupt or read-only database, many runs
 * at once, a `tbox run` killed at any moment, rm racing start. After each,
 * the state tells the truth, the next command recovers, and nothing of
 * tbox's is left on the host.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, eventually, links, makeSandbox, processesOf, run, type Result, type Sandbox } from '../helpers.js';
import { busyboxTar, push, startRegistry, writeOciLayout, type Registry } from '../registry.js';

let box: Sandbox;
beforeAll(() => {
  box = makeSandbox();
  expect(box.tbox(['run', '--rm', '--network', 'none', 'busybox', 'true']).code).toBe(0);
});
afterAll(() => box.cleanup());

/** The host ends of veths still plugged into this sandbox's bridge. */
const vethsOnBridge = () => run('ip', ['-o', 'link', 'show', 'master', box.env.TBOX_BRIDGE!]).stdout.trim();

const noStack = (r: Result) => {
  expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
};

/** A sandbox whose data root is a tmpfs of `size`, unmounted on cleanup. */
function tmpfsSandbox(size: string): Sandbox & { remount(opts: string): void } {
  const b = makeSandbox();
  expect(run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tbox-test', b.root]).code).toBe(0);
  return {
    ...b,
    remount: (opts: string) => expect(run('mount', ['-o', `remount,${opts}`, b.root]).code).toBe(0),
    cleanup() {
      run('mount', ['-o', 'remount,rw', b.root]);
      const r = b.tbox(['system', 'reset', '-f']);
      run('umount', [b.root]);
      fs.rmSync(b.root, { recursive: true, force: true });
      if (r.code !== 0) throw new Error(`cleanup failed: ${r.stderr}`);
    },
  };
}

describe('a full disk', () => {
  let registry: Registry;
  let small: ReturnType<typeof tmpfsSandbox>;
  beforeAll(async () => {
    registry = await startRegistry();
    small = tmpfsSandbox('20m');
  });
  afterAll(async () => {
    try {
      small.cleanup();
    } finally {
      await registry.stop();
    }
  });

  it('a pull that fills it fails with one line and keeps no partial; tbox works after', async () => {
    const layout = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-test-layout-'));
    try {
      // 30 MB of noise does not compress: it cannot fit in 20 MB.
      const noise = Buffer.alloc(30 * 1024 * 1024);
      for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
      const { makeTar } = await import('../tar-writer.js');
      writeOciLayout(layout, [busyboxTar(), makeTar([{ path: 'noise', body: noise }])], { Cmd: ['sh'] });
      push(layout, registry.host, 'test/huge:1');
    } finally {
      fs.rmSync(layout, { recursive: true, force: true });
    }
    const r = await small.tboxAsync(['pull', `${registry.host}/test/huge:1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^tbox: no space left on the device of .* while pulling layer [0-9a-f]{12}: free some space \(tbox image prune, tbox rm\) and pull again\n$/,
    );
    const downloads = path.join(small.root, 'images', 'downloads');
    expect(fs.existsSync(downloads) ? fs.readdirSync(downloads) : []).toEqual([]);
    expect(fs.readdirSync(path.join(small.root, 'images', 'layers')).filter((d) => d.startsWith('.tmp-'))).toEqual([]);
    expect(small.tbox(['images']).code).toBe(0);
  });

  it('a container that fills it keeps its own exit code, and rm gives the space back', async () => {
    // Its writable layer is in the data root: dd fills the disk, then the container exits 3.
    const id = small
      .tbox(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/fill bs=1M count=40; exit 3'])
      .stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const waited = small.tbox(['wait', id], { timeout: 60_000 });
    expect(waited).toMatchObject({ stdout: '3\n', stderr: '' });
    expect(small.tbox(['ps', '-a', '--format', '{{.Status}}']).stdout).toMatch(/^Exited \(3\) /);
    expect(small.tbox(['inspect', '-f', '{{.State.ExitCode}}', id]).stdout).toBe('3\n');
    expect(small.tbox(['rm', id]).code).toBe(0);
    expect(small.tbox(['run', '--rm', '--network', 'none', 'busybox', 'true']).code).toBe(0);
  });
});

describe('database trouble', () => {
  it('a corrupt database is one line; reset -f moves it aside and removes what tbox made from the kernel view', async () => {
    const b = makeSandbox();
    try {
      const id = b.tbox(['run', '-d', 'busybox', 'sleep', '600']).stdout.trim();
      const veth = `tb${id.slice(0, 10)}`;
      expect(links()).toContain(veth);
      expect(processesOf(b.root).length).toBeGreaterThan(0);
      const db = path.join(b.root, 'state', 'tbox.db');
      b.tbox(['ps']); // checkpoint-free: the WAL may hold the rows; corrupt the main file's header
      const fd = fs.openSync(db, 'r+');
      fs.writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 0);
      fs.closeSync(fd);
      const corrupt = fs.readFileSync(db);

      const ps = b.tbox(['ps']);
      expect(ps.code).toBe(1);
      noStack(ps);
      expect(ps.stderr).toMatch(/^tbox: the state database is corrupt \(.*\): run 'tbox system reset -f'/);

      const reset = b.tbox(['system', 'reset', '-f']);
      expect(reset.stderr).toBe('');
      const moved = /moved it to (\S+)\n/.exec(reset.stdout)?.[1];
      expect(moved && fs.readFileSync(moved).equals(corrupt)).toBe(true);
      await eventually(() => processesOf(b.root).length === 0 && !links().includes(veth) && !links().includes(b.env.TBOX_BRIDGE!));
      expect(run('iptables-save', []).stdout).not.toContain(b.env.TBOX_CHAIN_PREFIX!);
      expect(b.tbox(['run', '--rm', 'busybox', 'true']).code).toBe(0);
    } finally {
      b.cleanup();
    }
  });

  it('a read-only data root is one line, and tbox works again once it is writable', () => {
    const b = tmpfsSandbox('64m');
    try {
      expect(b.tbox(['run', '--rm', '--network', 'none', 'busybox', 'true']).code).toBe(0);
      b.remount('ro');
      for (const args of [
        ['ps', '-a'],
        ['run', '--rm', '--network', 'none', 'busybox', 'true'],
      ]) {
        const r = b.tbox(args);
        // Docker's table: 125 for run, 1 for the other commands
        expect(r.code).toBe(args[0] === 'run' ? 125 : 1);
        noStack(r);
        expect(r.stderr).toMatch(/read-only|readonly/);
      }
      b.remount('rw');
      expect(b.tbox(['run', '--rm', '--network', 'none', 'busybox', 'true']).code).toBe(0);
    } finally {
      b.cleanup();
    }
  });
});

describe('races', () => {
  it('100 parallel runs that each exit 3 are all kept, each with code 3', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => box.tboxAsync(['run', '--name', `three${i}`, 'busybox', 'sh', '-c', 'exit 3'])),
    );
    expect(results.filter((r) => r.code !== 3 || r.stderr !== '').map((r) => `${r.code} ${r.stderr}`)).toEqual([]);
    const statuses = box
      .tbox(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])
      .stdout.split('\n')
      .filter((l) => l.startsWith('three'));
    expect(statuses).toHaveLength(100);
    expect(statuses.filter((l) => !/ Exited \(3\) /.test(l))).toEqual([]);
    expect(box.tbox(['rm', ...results.map((_, i) => `three${i}`)]).code).toBe(0);
  });

  it('kill -9 of tbox run at any moment leaves state the next command reconciles, and start and rm work', async () => {
    const names: string[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `killed${i}`;
      names.push(name);
      const child = spawn(process.execPath, [cliPath, 'run', '--name', name, 'busybox', 'sleep', '600'], { env: box.env, stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, (600 * i) / 19));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
    }
    const ps = box.tbox(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
    expect(ps.code).toBe(0);
    const listed = ps.stdout.split('\n').filter((l) => l.startsWith('killed'));
    for (const line of listed) expect(line).toMatch(/ (Created|Up .*|Exited \(\d+\) .*)$/);
    const existing = listed.map((l) => l.split(' ')[0]!);
    for (const name of existing) {
      const r = box.tbox(['start', name]);
      expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: '' });
    }
    expect(
      box
        .tbox(['ps', '--format', '{{.Names}}'])
        .stdout.split('\n')
        .filter((n) => n.startsWith('killed'))
        .sort(),
    ).toEqual(existing.sort());
    expect(box.tbox(['rm', '-f', ...existing]).code).toBe(0);
    const [net] = JSON.parse(box.tbox(['network', 'inspect', 'bridge']).stdout);
    expect(net.Containers).toEqual({});
    await eventually(() => processesOf(path.join(box.root, 'state')).length === 0 && vethsOnBridge() === '');
    expect(fs.readdirSync(path.join(box.root, 'state', 'containers'))).toEqual([]);
  });

  it('rm -f racing start, 20 rounds: rm wins or waits, and nothing is half-deleted', async () => {
    for (let i = 0; i < 20; i++) {
      const name = `race${i}`;
      const id = box.tbox(['run', '-d', '--name', name, 'busybox', 'sleep', '600']).stdout.trim();
      box.tbox(['stop', '-t', '0', name]);
      const [start, rm] = await Promise.all([box.tboxAsync(['start', name]), box.tboxAsync(['rm', '-f', name])]);
      expect({ round: i, code: rm.code, stderr: rm.stderr }).toEqual({ round: i, code: 0, stderr: '' });
      if (start.code !== 0)
        expect(start.stderr).toMatch(/^tbox: (container race\d+ is being removed: it cannot be started|No such container: race\d+)\n$/);
      expect(box.tbox(['ps', '-a', '--format', '{{.Names}}']).stdout).not.toContain(`${name}\n`);
      expect(fs.existsSync(path.join(box.root, 'state', 'containers', id))).toBe(false);
      await eventually(() => processesOf(id).length === 0);
    }
    const [net] = JSON.parse(box.tbox(['network', 'inspect', 'bridge']).stdout);
    expect(net.Containers).toEqual({});
    await eventually(() => vethsOnBridge() === '');
  });
});
