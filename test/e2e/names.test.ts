/**
 * Names between containers on a user network, through /etc/hosts that tbox
 * keeps up to date. Every container here gets --dns 127.0.0.1 (its own
 * loopback, where nothing listens), so a name that is not in /etc/hosts
 * sends no DNS query off the machine.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, uniqueNet, type Sandbox } from '../helpers.js';

let box: Sandbox;
const net = uniqueNet();
beforeAll(() => {
  box = makeSandbox();
  expect(box.tbox(['network', 'create', '--subnet', net.subnet, '-o', `com.docker.network.bridge.name=${net.bridge}`, 'names']).code).toBe(
    0,
  );
});
afterAll(() => box.cleanup());

const NO_DNS = ['--dns', '127.0.0.1'];
const start = (name: string, args: string[] = [], network = 'names') => {
  const r = box.tbox(['run', '-d', '--name', name, '--network', network, ...NO_DNS, ...args, 'busybox', 'sleep', '600']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.trim();
};
const reaches = (from: string, name: string) => box.tbox(['exec', from, 'ping', '-c', '1', '-W', '2', name]).code === 0;

describe('on a user network', () => {
  it('containers reach each other by name, alias and short id, both ways, whichever started first; not after rm', () => {
    const idA = start('alpha', ['--network-alias', 'db']);
    const idB = start('beta');
    try {
      expect(reaches('beta', 'alpha')).toBe(true);
      expect(reaches('alpha', 'beta')).toBe(true);
      expect(reaches('beta', 'db')).toBe(true);
      expect(reaches('beta', idA.slice(0, 12))).toBe(true);
      expect(reaches('alpha', idB.slice(0, 12))).toBe(true);
      // the file inside is the same inode as the one tbox wrote at start: rewritten in place
      const hostsPath = JSON.parse(box.tbox(['inspect', 'alpha']).stdout)[0].HostsPath;
      const inode = fs.statSync(hostsPath).ino;
      box.tbox(['rm', '-f', 'beta']);
      expect(fs.statSync(hostsPath).ino).toBe(inode);
      expect(box.tbox(['exec', 'alpha', 'cat', '/etc/hosts']).stdout).not.toContain('beta');
      expect(reaches('alpha', 'beta')).toBe(false);
    } finally {
      box.tbox(['rm', '-f', 'alpha', 'beta']);
    }
  });

  it('a stopped container stops resolving, and resolves again when it starts', () => {
    start('gamma');
    start('delta');
    try {
      expect(box.tbox(['stop', '-t', '1', 'delta']).code).toBe(0);
      expect(reaches('gamma', 'delta')).toBe(false);
      expect(box.tbox(['start', 'delta']).code).toBe(0);
      expect(reaches('gamma', 'delta')).toBe(true);
      // kill -9 of its monitor: the next command's reconcile takes the name away
      process.kill(JSON.parse(box.tbox(['inspect', 'delta']).stdout)[0].MonitorPid, 'SIGKILL');
      box.tbox(['ps']);
      expect(box.tbox(['exec', 'gamma', 'cat', '/etc/hosts']).stdout).not.toContain('delta');
    } finally {
      box.tbox(['rm', '-f', 'gamma', 'delta']);
    }
  });
});

describe('on the default bridge network', () => {
  it('names do not resolve, as in Docker, and --network-alias is refused', () => {
    start('one', [], 'bridge');
    start('two', [], 'bridge');
    try {
      expect(reaches('one', 'two')).toBe(false);
      const r = box.tbox(['run', '--rm', '--network-alias', 'x', 'busybox', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain('only for containers in user defined networks');
    } finally {
      box.tbox(['rm', '-f', 'one', 'two']);
    }
  });
});

describe('--add-host and --dns*', () => {
  it('write /etc/hosts and /etc/resolv.conf as Docker does', () => {
    const r = box.tbox([
      'run', '--rm', '--add-host', 'db.local:10.1.2.3', '--add-host', 'gw:host-gateway',
      '--dns', '127.0.0.1', '--dns-search', 'example.test', '--dns-option', 'ndots:3',
      'busybox', 'sh', '-c', 'cat /etc/hosts /etc/resolv.conf',
    ]); // prettier-ignore
    expect(r.code).toBe(0);
    const gateway = JSON.parse(box.tbox(['network', 'inspect', 'bridge']).stdout)[0].Gateway;
    expect(r.stdout).toContain('10.1.2.3\tdb.local');
    expect(r.stdout).toContain(`${gateway}\tgw`);
    expect(r.stdout).toContain('nameserver 127.0.0.1');
    expect(r.stdout).toContain('search example.test');
    expect(r.stdout).toContain('options ndots:3');
    expect(r.stdout).not.toMatch(/nameserver (?!127\.0\.0\.1)/);
  });

  it("without them, resolv.conf is the host's minus loopback nameservers", () => {
    const r = box.tbox(['run', '--rm', 'busybox', 'cat', '/etc/resolv.conf']);
    expect(r.stdout).not.toMatch(/nameserver 127\./);
    expect(r.stdout).toMatch(/nameserver /);
  });

  it.each([
    ['--add-host', 'nocolon'],
    ['--add-host', 'a:notanip'],
    ['--dns', 'x.y'],
    ['--network-alias', '-bad'],
  ])('%s %s: one line, exit 125', (flag, value) => {
    const r = box.tbox(['run', '--rm', '--network', 'names', flag, value, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
