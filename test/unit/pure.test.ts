/** Tar entry guards, IPv4 math, firewall rules, templates, env and user resolution, error lists. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EntryGuard } from '../../src/image/safe-extract.js';
import { broadcast, contains, formatCidr, macFor, overlaps, parseCidr, parseIp } from '../../src/network/ipv4.js';
import { IptablesFirewall, parseSaved } from '../../src/network/firewall/iptables.js';
import { resolvConf } from '../../src/container/etc-files.js';
import { formatPortsColumn, parsePublish, resolvePublished } from '../../src/network/ports.js';
import { humanSize, renderTemplate } from '../../src/cli/format.js';
import { buildSpec, mergeEnv } from '../../src/container/spec.js';
import { resolveUser } from '../../src/image/user.js';
import { parseRestartPolicy, backoffMs } from '../../src/container/restart-policy.js';
import { TboxError, TeardownErrors, UndoStack, asTboxError, teardown } from '../../src/errors.js';
import type { ImageRecord } from '../../src/state/images.js';

describe('tar entry guard', () => {
  it('refuses escapes, writes through symlinks, bad hardlinks and devices', () => {
    const g = new EntryGuard();
    expect(g.check('etc/passwd', 'File')).toBeUndefined();
    expect(g.check('/etc/passwd', 'File')).toMatch(/absolute path/);
    expect(g.check('a/../../x', 'File')).toMatch(/contains \.\./);
    expect(g.check('dev/sda', 'BlockDevice')).toMatch(/device nodes/);
    expect(g.check('link', 'SymbolicLink', '/etc')).toBeUndefined();
    expect(g.check('link/passwd', 'File')).toMatch(/writes through symlink link/);
    // Swapping the symlink for a directory does not make what is below it acceptable.
    expect(g.check('link', 'Directory')).toBeUndefined();
    expect(g.check('link/x', 'File')).toMatch(/writes through symlink link/);
    expect(g.check('h', 'Link', '/etc/shadow')).toMatch(/absolute path/);
    expect(g.check('h', 'Link', 'link/shadow')).toMatch(/goes through symlink link/);
    expect(g.check('h', 'Link', 'etc/passwd')).toBeUndefined();
  });
});

describe('IPv4', () => {
  it('parses, formats and compares subnets', () => {
    const c = parseCidr('10.1.2.0/24');
    expect(formatCidr(c)).toBe('10.1.2.0/24');
    expect(broadcast(c)).toBe(parseIp('10.1.2.255'));
    expect(contains(c, parseIp('10.1.2.9'))).toBe(true);
    expect(contains(c, parseIp('10.1.3.0'))).toBe(false);
    expect(overlaps(c, parseCidr('10.1.0.0/16'))).toBe(true);
    expect(overlaps(c, parseCidr('10.1.3.0/24'))).toBe(false);
    expect(macFor(parseIp('172.16.0.11'))).toBe('02:42:ac:10:00:0b');
    expect(() => parseCidr('10.1.2.1/24')).toThrow(/host bits/);
    expect(() => parseIp('256.0.0.1')).toThrow(/invalid IPv4/);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/invalid CIDR/);
  });
});

describe('firewall rules', () => {
  it('one restore input per state: isolation, same-bridge and outbound accepts, NAT', () => {
    const fw = new IptablesFirewall('TX');
    const none = parseSaved('');
    const input = fw.restoreInput(
      [
        { name: 'a', bridge: 'bra', subnet: '10.0.1.0/24' },
        { name: 'b', bridge: 'brb', subnet: '10.0.2.0/24' },
      ],
      none,
    );
    const lines = input.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('*'))).toEqual(['*filter', '*nat']);
    expect(lines).toContain('-A TX-FORWARD -j TX-ISOLATION-1');
    expect(lines).toContain('-A TX-ISOLATION-2 -o brb -m comment --comment "tbox network b" -j DROP');
    expect(lines).toContain('-A TX-POSTROUTING -s 10.0.1.0/24 ! -o bra -m comment --comment "tbox network a" -j MASQUERADE');
    expect(lines.filter((l) => l.includes('-i bra -o bra'))).toHaveLength(1);
    expect(fw.restoreInput([{ name: 'a', bridge: 'bra', subnet: '10.0.1.0/24' }], none)).not.toContain('brb');
    // a port published on 127.0.0.1 is never DNATed for traffic from outside
    expect(lines).toContain('-I PREROUTING 1 ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j TX-DNAT');
    expect(lines).toContain(':TX-PORTS - [0:0]');
  });

  it('declares the per-port chains (which flushes them) and adds the jumps only when missing', () => {
    const fw = new IptablesFirewall('TX');
    const existing = parseSaved(
      [
        '*filter',
        ':TX-PORTS - [0:0]',
        '-A FORWARD -j TX-FORWARD',
        'COMMIT',
        '*nat',
        ':TX-DNAT - [0:0]',
        ':TX-HAIRPIN - [0:0]',
        'COMMIT',
      ].join('\n'),
    );
    const lines = fw.restoreInput([{ name: 'a', bridge: 'bra', subnet: '10.0.1.0/24' }], existing).split('\n');
    expect(lines).not.toContain(':TX-PORTS - [0:0]');
    expect(lines).not.toContain(':TX-DNAT - [0:0]');
    expect(lines).toContain(':TX-FORWARD - [0:0]');
    expect(lines.filter((l) => l.startsWith('-I FORWARD'))).toEqual([]);
    expect(lines).toContain('-I INPUT 1 -j TX-INPUT');
  });
});

describe('templates and units', () => {
  it('renders the Go-template subset Docker users type', () => {
    const v = { Name: 'web', State: { Status: 'running' }, Ports: { a: 1 } };
    expect(renderTemplate('{{.Name}}\\t{{.State.Status}}', v)).toBe('web\trunning');
    expect(renderTemplate('{{json .Ports}}', v)).toBe('{"a":1}');
    // an unknown field is an error, never `<no value>` printed back (template.test.ts has the rest)
    expect(() => renderTemplate('{{.Missing}}', v)).toThrow(/can't evaluate field Missing/);
    expect(humanSize(1536)).toBe('1.54kB');
  });
});

describe('container env', () => {
  const image = (env: string[]): ImageRecord => ({
    id: 'sha256:x',
    size: 0,
    createdAt: '',
    tags: [],
    config: { config: { Env: env, Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [] } },
  });
  const flags = { cmd: [], env: [] as string[], envFiles: [], hostname: 'h', network: 'none', tty: false, interactive: false };

  it('merges base, image and -e in that order, later keys winning', () => {
    expect(mergeEnv([['A=1', 'B=2'], ['B=3'], ['A=4']])).toEqual(['A=4', 'B=3']);
    const spec = buildSpec(image(['PATH=/img', 'X=1']), { ...flags, env: ['X=2', 'UNSET_ON_HOST_12345'], home: '/home/app' });
    expect(spec.env).toEqual(['PATH=/img', 'HOSTNAME=h', 'HOME=/home/app', 'X=2']);
  });

  it('refuses an invalid -e key', () => {
    expect(() => buildSpec(image([]), { ...flags, env: ['=x'] })).toThrow(/invalid environment variable/);
  });
});

describe('users from the image', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-unit-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const layer = (name: string, files: Record<string, string>, links: Record<string, string> = {}) => {
    const dir = path.join(tmp, name);
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), text);
    }
    for (const [f, target] of Object.entries(links)) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.symlinkSync(target, path.join(dir, f));
    }
    return dir;
  };

  it('resolves names, numbers and groups, top layer first, with HOME', () => {
    const lower = layer('l1', { 'etc/passwd': 'app:x:1000:1000::/home/app:/bin/sh\n', 'etc/group': 'staff:x:50:\n' });
    const upper = layer('l2', { 'etc/passwd': 'app:x:1001:1001::/srv:/bin/sh\n' });
    expect(resolveUser('app', [upper, lower])).toEqual({ uid: 1001, gid: 1001, home: '/srv' });
    expect(resolveUser('app:staff', [lower])).toEqual({ uid: 1000, gid: 50, home: '/home/app' });
    expect(resolveUser('7:8', [lower])).toEqual({ uid: 7, gid: 8, home: undefined });
  });

  it("never follows a layer's symlink to the host's files", () => {
    const evil = layer('l3', {}, { etc: '/etc' });
    const evilFile = layer('l4', { 'etc/.keep': '' }, { 'etc/passwd': '/etc/passwd' });
    expect(() => resolveUser('root', [evil])).toThrow(/unable to find user root/);
    expect(() => resolveUser('root', [evilFile])).toThrow(/unable to find user root/);
  });
});

describe('restart policies', () => {
  it("parses Docker's names and backs off doubling up to a minute", () => {
    expect(parseRestartPolicy('on-failure:3')).toEqual({ name: 'on-failure', max: 3 });
    expect(() => parseRestartPolicy('always:3')).toThrow(/invalid restart policy/);
    expect([0, 1, 2, 20].map(backoffMs)).toEqual([100, 200, 400, 60_000]);
  });
});

describe('error lists', () => {
  it('teardown runs every step and reports every failure', () => {
    const ran: number[] = [];
    const step = (n: number, fail: boolean) => () => {
      ran.push(n);
      if (fail) throw new TboxError(`step ${n} failed`);
    };
    expect(() => teardown([step(1, true), step(2, false), step(3, true)])).toThrow(TeardownErrors);
    expect(ran).toEqual([1, 2, 3]);
    try {
      teardown([step(4, true), step(5, true)]);
    } catch (err) {
      expect((err as Error).message).toBe('step 4 failed; step 5 failed');
    }
  });

  it('an undo stack unwinds newest first and keeps the original error, with undo failures as its cause', () => {
    const order: string[] = [];
    const undo = new UndoStack();
    undo.push(() => order.push('lease'));
    undo.push(() => {
      order.push('veth');
      throw new Error('veth busy');
    });
    const original = new TboxError('mount failed');
    expect(() => undo.unwind(original)).toThrow(original);
    expect(order).toEqual(['veth', 'lease']);
    expect((original.cause as Error).message).toBe('veth busy');
  });

  it('system errors become one actionable line', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/x' });
    expect(asTboxError(enospc).message).toBe('no space left on device (/x): free some space (tbox image prune, tbox rm) and try again');
    expect(asTboxError(Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' })).message).toMatch(
      /corrupt.*system reset -f/,
    );
    expect(asTboxError(Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' })).message).toMatch(
      /read-only/,
    );
    expect(asTboxError(new Error('line one\n    at stack')).message).toBe('line one');
  });
});

describe('resolv.conf, as Docker writes it', () => {
  const host = 'search corp.example\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions edns0\n';
  it('drops loopback nameservers off the host network, and falls back to public ones when none is left', () => {
    expect(resolvConf(host, false, undefined)).toBe('search corp.example\nnameserver 10.0.0.2\noptions edns0\n');
    expect(resolvConf(host, true, undefined)).toBe(host);
    expect(resolvConf('nameserver 127.0.0.53\n', false, undefined)).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });
  it("on a systemd-resolved host (only 127.0.0.53), takes resolved's own file, as Docker does", () => {
    const resolved = 'nameserver 10.1.1.1\nsearch lan\n';
    expect(resolvConf('nameserver 127.0.0.53\noptions edns0\n', false, undefined, resolved)).toBe(resolved);
    expect(resolvConf('nameserver 127.0.0.53\n', true, undefined, resolved)).toBe('nameserver 127.0.0.53\n');
    expect(resolvConf(host, false, undefined, resolved)).not.toContain('10.1.1.1');
  });
  it('--dns, --dns-search and --dns-option each replace the lines of their kind', () => {
    const out = resolvConf(host, false, { servers: ['127.0.0.1', '10.9.9.9'], search: ['a.test'], options: ['ndots:2'] });
    expect(out.split('\n').filter(Boolean).sort()).toEqual([
      'nameserver 10.9.9.9',
      'nameserver 127.0.0.1',
      'options ndots:2',
      'search a.test',
    ]);
  });
});

describe('published ports, as Docker writes them', () => {
  it('parses every -p form', () => {
    expect(parsePublish('8080:80')).toEqual([{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }]);
    expect(parsePublish('127.0.0.1::53/udp')).toEqual([{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 53, proto: 'udp' }]);
    expect(parsePublish('80')).toEqual([{ hostIp: '', hostPort: 0, containerPort: 80, proto: 'tcp' }]);
    expect(parsePublish('8000-8001:80-81').map((m) => `${m.hostPort}:${m.containerPort}`)).toEqual(['8000:80', '8001:81']);
    for (const bad of ['0:80', '8080:80/sctp', '1-3:80-81', 'x', '[::1]:80:80', '10.0.0.300:80:80'])
      expect(() => parsePublish(bad)).toThrow();
  });
  it('-P adds the exposed ports not already published; ps collapses ranges', () => {
    const m = resolvePublished(['8080:80'], true, ['80/tcp', '443', '53/udp']);
    expect(m.map((x) => `${x.hostPort}:${x.containerPort}/${x.proto}`)).toEqual(['8080:80/tcp', '0:443/tcp', '0:53/udp']);
    const bound = parsePublish('9000-9002:80-82');
    expect(formatPortsColumn(bound, ['80/tcp', '81/tcp', '82/tcp', '443/tcp'])).toBe('443/tcp, 0.0.0.0:9000-9002->80-82/tcp');
  });
});
