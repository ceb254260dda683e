/**
 * Bridges, firewall chains and host ports belong to the host; tbox's state
 * belongs to a data root. Two roots on one host, a root whose state dir was
 * wiped, and a bridge tbox did not make: each keeps what is its own and
 * leaves the rest alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { httpGet, makeSandbox, makeUpstream, run, sh, uniqueNet, type Sandbox } from '../helpers.js';

const boxes: Sandbox[] = [];
afterEach(() => {
  for (const b of boxes.splice(0)) b.cleanup();
});
const sandbox = () => {
  const b = makeSandbox();
  boxes.push(b);
  return b;
};
const ipOf = (b: Sandbox, ref: string) => JSON.parse(b.tbox(['inspect', ref]).stdout)[0].NetworkSettings.IPAddress as string;
const chainsOf = (root: Sandbox) => {
  // the default prefix: TBOX- and 8 hex digits of the root's hash, the same as the bridge alias's
  const alias = run('cat', [`/sys/class/net/${root.env.TBOX_BRIDGE}/ifalias`]).stdout;
  const hash = /tbox:([0-9a-f]{8})/.exec(alias)?.[1];
  return run('iptables-save', [])
    .stdout.split('\n')
    .filter((l) => hash && l.includes(`TBOX-${hash}-`));
};

describe('two data roots on one host', () => {
  it("the second is refused the first one's bridge, by name, and the first keeps working", () => {
    const a = sandbox();
    const b = sandbox();
    b.env.TBOX_BRIDGE = a.env.TBOX_BRIDGE;
    b.env.TBOX_BRIDGE_SUBNET = a.env.TBOX_BRIDGE_SUBNET;
    expect(a.tbox(['run', '-d', '--name', 'a1', 'busybox', 'sleep', '600']).code).toBe(0);
    const r = b.tbox(['run', '--rm', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`belongs to another tbox data root (${a.root})`);
    expect(r.stderr).toContain('TBOX_BRIDGE');
    expect(b.tbox(['ps', '-aq']).stdout).toBe('');
    // a's bridge still has its own address and its container its gateway
    expect(run('ip', ['-4', '-o', 'addr', 'show', 'dev', a.env.TBOX_BRIDGE!]).stdout).toContain(
      `${a.env.TBOX_BRIDGE_SUBNET!.replace('.0/24', '.1')}/24`,
    );
    expect(a.tbox(['exec', 'a1', 'ping', '-c', '1', '-W', '2', a.env.TBOX_BRIDGE_SUBNET!.replace('.0/24', '.1')]).code).toBe(0);
    // and b's reset does not touch it
    expect(b.tbox(['system', 'reset', '-f']).code).toBe(0);
    expect(fs.existsSync(`/sys/class/net/${a.env.TBOX_BRIDGE}`)).toBe(true);
  });

  it('with the default chain names, have chains of their own: resetting one leaves the other NATing and publishing', () => {
    const a = sandbox();
    const b = sandbox();
    a.env.TBOX_CHAIN_PREFIX = '';
    b.env.TBOX_CHAIN_PREFIX = '';
    const up = makeUpstream();
    const pool = Number(process.env.VITEST_POOL_ID ?? 1) % 100;
    const port = 22000 + 100 * pool + 1;
    try {
      const web = ['sh', '-c', 'mkdir -p /www && echo a > /www/index.html && exec httpd -f -p 80 -h /www'];
      expect(a.tbox(['run', '-d', '--name', 'aweb', '-p', `${port}:80`, 'busybox', ...web]).code).toBe(0);
      expect(b.tbox(['run', '-d', '--name', 'b1', 'busybox', 'sleep', '600']).code).toBe(0);
      const before = chainsOf(a);
      expect(before.length).toBeGreaterThan(10);
      expect(chainsOf(b).length).toBeGreaterThan(5);
      expect(before.some((l) => chainsOf(b).includes(l))).toBe(false);

      expect(b.tbox(['system', 'reset', '-f']).code).toBe(0);
      expect(chainsOf(b)).toEqual([]);
      expect(chainsOf(a)).toEqual(before);
      // a's container still leaves through MASQUERADE (the upstream answers its ping), and its port still answers
      expect(a.tbox(['exec', 'aweb', 'ping', '-c', '1', '-W', '2', up.upstreamIp]).code).toBe(0);
      expect(httpGet(`http://${up.hostIp}:${port}/`, up.ns).stdout).toBe('a\n');
    } finally {
      up.remove();
    }
  });
});

describe('a wiped state dir', () => {
  it('adopts its own bridge with the subnet the bridge really has, and warns of no overlap', () => {
    const a = sandbox();
    expect(a.tbox(['run', '--rm', 'busybox', 'true']).code).toBe(0);
    fs.rmSync(path.join(a.root, 'state'), { recursive: true, force: true });
    // the configured subnet changed meanwhile: the bridge's real one wins
    const other = uniqueNet();
    const r = a.tbox(['run', '-d', '--name', 'again', 'busybox', 'sleep', '600'], { env: { TBOX_BRIDGE_SUBNET: other.subnet } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ipOf(a, 'again').startsWith(a.env.TBOX_BRIDGE_SUBNET!.replace('.0/24', '.'))).toBe(true);
    expect(JSON.parse(a.tbox(['network', 'inspect', 'bridge']).stdout)[0].Subnet).toBe(a.env.TBOX_BRIDGE_SUBNET);
    expect(a.tbox(['exec', 'again', 'ping', '-c', '1', '-W', '2', a.env.TBOX_BRIDGE_SUBNET!.replace('.0/24', '.1')]).code).toBe(0);
  });
});

describe('a bridge from before bridges carried their owner', () => {
  it("is this root's if its database names it (and is marked then), and nobody's otherwise", () => {
    const a = sandbox();
    const alias = `/sys/class/net/${a.env.TBOX_BRIDGE}/ifalias`;
    expect(a.tbox(['run', '--rm', 'busybox', 'true']).code).toBe(0);
    fs.writeFileSync(alias, '\n');
    expect(fs.readFileSync(alias, 'utf8').trim()).toBe('');
    expect(a.tbox(['run', '--rm', 'busybox', 'true']).code).toBe(0);
    expect(fs.readFileSync(alias, 'utf8')).toContain(a.root);
    // unmarked, with no database naming it: left alone
    fs.writeFileSync(alias, '\n');
    fs.rmSync(path.join(a.root, 'state'), { recursive: true, force: true });
    const r = a.tbox(['run', '--rm', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('tbox did not make it');
    sh(`ip link del ${a.env.TBOX_BRIDGE}`);
  });
});

describe('a bridge tbox did not make', () => {
  it('with the name tbox would use is refused and left exactly as it was', () => {
    const a = sandbox();
    const name = a.env.TBOX_BRIDGE!;
    expect(sh(`ip link add ${name} type bridge`).code).toBe(0);
    try {
      const before = run('ip', ['-d', 'addr', 'show', 'dev', name]).stdout;
      const r = a.tbox(['run', '--rm', 'busybox', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain('tbox did not make it');
      expect(a.tbox(['system', 'reset', '-f']).code).toBe(0);
      expect(run('ip', ['-d', 'addr', 'show', 'dev', name]).stdout).toBe(before);
    } finally {
      sh(`ip link del ${name}`);
    }
  });
});
