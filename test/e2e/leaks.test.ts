/** The leak check itself must be able to fail: plant one of each kind of leak and see it named. */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { makeSandbox, run } from '../helpers.js';
import { leaked, snapshot } from '../leaks.js';

describe('the leak check', () => {
  it('sees a veth, a bridge, a chain, a process, a mount and a data root that were left behind', async () => {
    const before = snapshot();
    const box = makeSandbox();
    const tag = `tbt9${process.pid % 1000}`;
    const sleeper = spawn('sh', ['-c', 'sleep 30; :', box.root]);
    await new Promise((r) => sleeper.on('spawn', r));
    try {
      expect(run('ip', ['link', 'add', `${tag}a`, 'type', 'veth', 'peer', 'name', `${tag}b`]).code).toBe(0);
      expect(run('ip', ['link', 'add', `${tag}br`, 'type', 'bridge']).code).toBe(0);
      expect(run('iptables', ['-w', '-N', `TBT9${process.pid % 1000}-LEAK`]).code).toBe(0);
      fs.mkdirSync(path.join(box.root, 'mnt'));
      expect(run('mount', ['-t', 'tmpfs', 'leak', path.join(box.root, 'mnt')]).code).toBe(0);
      const found = leaked(before, snapshot()).join('\n');
      expect(found).toContain(`links: ${tag}a`);
      expect(found).toContain(`links: ${tag}br`);
      expect(found).toContain(`iptables: :TBT9${process.pid % 1000}-LEAK`);
      expect(found).toContain(`mounts: ${path.join(box.root, 'mnt')}`);
      expect(found).toMatch(/processes: \d+ sh -c sleep 30; : /);
      expect(found).toContain(`roots: ${path.basename(box.root)}`);
    } finally {
      sleeper.kill();
      run('umount', [path.join(box.root, 'mnt')]);
      run('ip', ['link', 'del', `${tag}a`]);
      run('ip', ['link', 'del', `${tag}br`]);
      run('iptables', ['-w', '-X', `TBT9${process.pid % 1000}-LEAK`]);
      box.cleanup();
    }
    await new Promise((r) => sleeper.on('exit', r));
    expect(leaked(before, snapshot())).toEqual([]);
  });
});
