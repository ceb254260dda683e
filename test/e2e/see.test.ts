/**
 * See the network: --explain replayed by hand, trace's diagnoses set off by
 * breaking each link on purpose, doctor's checks, and the diagram. Every
 * sandbox here runs tbox in a network namespace of its own, so ip_forward,
 * the FORWARD policy and the bridges it breaks are no other test's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { makeSandbox, run, uniqueNet, type Sandbox } from '../helpers.js';

const boxes: Sandbox[] = [];
afterEach(() => {
  for (const b of boxes.splice(0)) b.cleanup();
});
const sandbox = () => {
  const b = makeSandbox({ netns: true });
  boxes.push(b);
  return b;
};
const inspect = (box: Sandbox, ref: string) => JSON.parse(box.tbox(['inspect', ref]).stdout)[0];
const ok = (r: { code: number; stderr: string }) => expect(r.stderr === '' || r.code === 0 ? r.code : r.stderr).toBe(0);

/** A user network with containers on it, in the sandbox's namespace. */
function network(box: Sandbox, name: string, containers: string[], extra: string[] = []) {
  const net = uniqueNet();
  const created = box.tbox([
    ...extra,
    'network',
    'create',
    '--subnet',
    net.subnet,
    '-o',
    `com.docker.network.bridge.name=${net.bridge}`,
    name,
  ]);
  ok(created);
  const outputs = containers.map((c) => box.tbox([...extra, 'run', '-d', '--name', c, '--network', name, 'busybox', 'sleep', '600']));
  for (const r of outputs) ok(r);
  return { ...net, gateway: `${net.prefix}.1`, outputs: [created, ...outputs] };
}

describe('--explain', () => {
  it('prints every host change with its why, and its network lines, typed by hand into fresh namespaces, give a pair that pings', () => {
    const box = sandbox();
    // off, so the sandbox's namespace shows tbox turning it on
    expect(box.sh('sysctl -qw net.ipv4.ip_forward=0').code).toBe(0);
    const net = network(box, 'rnet', ['r1', 'r2'], ['--explain']);
    const text = net.outputs.map((r) => r.stderr).join('');
    for (const why of [
      'bridge: a virtual switch on the host',
      "the bridge's address: the containers' default gateway",
      'MASQUERADE (NAT)',
      'veth pair: hlink on the host, clink (eth0) born inside the container',
      'plug the host end of the veth pair (hlink) into the bridge',
      'default gateway: traffic for anything off the subnet goes to the bridge',
      'new namespaces:',
    ]) {
      expect(text).toContain(`# ${why}`);
    }
    expect(text).toContain('$ sysctl -w net.ipv4.ip_forward=1');
    expect(text).toMatch(/\[tbox-shim\] cd .* && pivot_root \. \. && umount -l \./);
    expect(text).toMatch(/\[tbox-shim\] capabilities bounding=CAP_CHOWN,/);
    // only the capabilities line has its masks turned into names
    expect(text).toContain('[tbox-shim] mount -t tmpfs -o mode=755,size=65536k');
    // --explain changes nothing: the pair works as usual
    const ip2 = inspect(box, 'r2').NetworkSettings.IPAddress;
    expect(box.tbox(['exec', 'r1', 'ping', '-c', '1', '-W', '2', ip2]).code).toBe(0);

    // Replay: all tbox made goes, then the explained network lines are typed into fresh namespaces.
    ok(box.tbox(['system', 'reset', '-f']));
    expect(box.sh('sysctl -qw net.ipv4.ip_forward=0').code).toBe(0);
    const commands = text
      .split('\n')
      .filter((l) => /^\$ (ip|nsenter|iptables|sysctl) /.test(l))
      .map((l) => l.slice(2));
    const pids = [...new Set(commands.flatMap((c) => [...c.matchAll(/\/proc\/(\d+)\/ns\/net|netns (\d+)/g)].map((m) => m[1] ?? m[2]!)))];
    expect(pids).toHaveLength(2);
    const names = pids.map((_, i) => `tbt-rp${pool}x${i}`);
    const replay = commands.map((c) =>
      pids.reduce(
        (line, pid, i) =>
          line.replace(`nsenter --net=/proc/${pid}/ns/net ip `, `ip -n ${names[i]} `).replace(`netns ${pid}`, `netns ${names[i]}`),
        c,
      ),
    );
    // One shell: each sandbox shell has a mount namespace of its own, and with it go the netns names made in it.
    const r = box.sh(
      [
        `trap 'for n in ${names.join(' ')}; do ip netns del $n 2>/dev/null; done' EXIT`,
        'set -ex',
        ...names.map((n) => `ip netns add ${n}`),
        ...replay,
        `ip netns exec ${names[0]} ping -c 1 -W 2 ${ip2}`,
      ].join('\n'),
    );
    // set -x shows each line as run: on a failure, the last one is the culprit
    expect({ code: r.code, last: r.stderr.trim().split('\n').at(-1) }).toEqual({ code: 0, last: expect.anything() });
    expect(r.stdout).toContain('1 received');
  });
});

const pool = Number(process.env.VITEST_POOL_ID ?? 1) % 100;

describe('tbox trace', () => {
  it('follows a working path step by step, then names each link broken on purpose, with its fix', () => {
    const box = sandbox();
    const n1 = network(box, 'n1', ['a1', 'a2']);
    network(box, 'n2', ['b1']);
    const pid = (c: string) => inspect(box, c).State.Pid as number;
    const trace = (dest: string) => box.tbox(['trace', 'a1', dest]);
    const works = trace('a2');
    expect(works.stdout).toContain('veth pair');
    expect(works.stdout).toContain('ARP');
    expect(works.stdout).toContain('test packet        ping');
    expect(works.stdout).toContain('✔ the path works');
    expect(works.code).toBe(0);
    expect(trace('host').code).toBe(0);
    const outside = trace('203.0.113.7');
    expect(outside.stdout).toContain('MASQUERADE');
    expect(outside.stdout).toContain('no test packet is sent outside');

    const broken = (dest: string, message: string) => {
      const r = trace(dest);
      expect(r.code).toBe(1);
      expect(r.stdout.trim().split('\n').at(-1)).toBe(`✘ ${message}`);
      return message.slice(message.indexOf(': ') + 2);
    };
    // a link down, fixed by the command trace gives
    expect(box.sh(`nsenter --net=/proc/${pid('a2')}/ns/net ip link set eth0 down`).code).toBe(0);
    const up = broken('a2', `eth0 in a2 is DOWN: nsenter --net=/proc/${pid('a2')}/ns/net ip link set eth0 up`);
    expect(box.sh(up).code).toBe(0);
    expect(trace('a2').code).toBe(0);
    // a deleted default route
    expect(box.sh(`nsenter --net=/proc/${pid('a1')}/ns/net ip route del default`).code).toBe(0);
    expect(
      box.sh(
        broken('203.0.113.7', `a1 has no default route: nsenter --net=/proc/${pid('a1')}/ns/net ip route add default via ${n1.gateway}`),
      ).code,
    ).toBe(0);
    // ip_forward 0 (in the sandbox's namespace only)
    expect(box.sh('sysctl -qw net.ipv4.ip_forward=0').code).toBe(0);
    try {
      broken('203.0.113.7', 'ip_forward is 0: sysctl -w net.ipv4.ip_forward=1');
    } finally {
      box.sh('sysctl -qw net.ipv4.ip_forward=1');
    }
    // two isolated networks
    broken(
      'b1',
      `a1 and b1 are on isolated networks (${box.env.TBOX_CHAIN_PREFIX}-ISOLATION-1 drops ${n1.bridge} -> ${inspect(box, 'b1').NetworkSettings.Bridge})`,
    );
    // the bridge's address deleted
    expect(box.sh(`ip addr del ${n1.gateway}/24 dev ${n1.bridge}`).code).toBe(0);
    expect(box.sh(broken('host', `the bridge's address is missing: ip addr add ${n1.gateway}/24 dev ${n1.bridge}`)).code).toBe(0);
    expect(trace('host').code).toBe(0);
    // FORWARD policy DROP with tbox's rules gone: br_netfilter drops even same-bridge frames
    const jump = `FORWARD -j ${box.env.TBOX_CHAIN_PREFIX}-FORWARD`;
    expect(box.sh(`iptables -P FORWARD DROP && iptables -D ${jump}`).code).toBe(0);
    try {
      broken(
        'a2',
        `br_netfilter filters bridged traffic and FORWARD (policy DROP, no tbox accept rule) drops it: iptables -I ${jump.replace('FORWARD', 'FORWARD 1')}`,
      );
    } finally {
      box.sh(`iptables -P FORWARD ACCEPT; iptables -I ${jump.replace('FORWARD', 'FORWARD 1')}`);
    }
  });
});

describe('tbox doctor', () => {
  it('passes on a sound host, and reports each fault set off on purpose with its fix; system prune removes leftovers', () => {
    const box = sandbox();
    const n = network(box, 'dn', ['d1']);
    const doctor = () => box.tbox(['doctor']);
    const sound = doctor();
    expect(sound.stdout).not.toContain('✘');
    expect(sound.code).toBe(0);

    expect(box.sh('sysctl -qw net.ipv4.ip_forward=0').code).toBe(0);
    try {
      const r = doctor();
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('✘ ip_forward is 0\n      fix: sysctl -w net.ipv4.ip_forward=1');
    } finally {
      box.sh('sysctl -qw net.ipv4.ip_forward=1');
    }
    // a subnet overlapping a host route, and leftovers: a veth on tbox's bridge, a cgroup and a state dir with no container
    const cgroup = `/sys/fs/cgroup/pids/${box.env.TBOX_CGROUP_PARENT}/${'e'.repeat(32)}`;
    const stateDir = path.join(box.root, 'state', 'containers', 'f'.repeat(32));
    expect(box.sh(`ip link add tb0123456789 type veth peer name tbtpeer0 && ip link set tb0123456789 master ${n.bridge}`).code).toBe(0);
    expect(
      box.sh(
        `ip link add tbtov0 type veth peer name tbtov1 && ip addr add ${n.prefix}.129/25 dev tbtov0 && ip link set tbtov0 up && ip link set tbtov1 up`,
      ).code,
    ).toBe(0);
    fs.mkdirSync(cgroup, { recursive: true });
    // a host-wide object: gone even if an assertion below fails
    onTestFinished(() => {
      if (fs.existsSync(cgroup)) fs.rmdirSync(cgroup);
    });
    fs.mkdirSync(stateDir, { recursive: true });
    const faults = doctor();
    expect(faults.code).toBe(1);
    expect(faults.stdout).toContain(`✘ network dn (${n.subnet}) overlaps the host route ${n.prefix}.128/25 dev tbtov0`);
    expect(faults.stdout).toContain('✘ leftover veth tb0123456789\n      fix: tbox system prune (or: ip link del tb0123456789)');
    expect(faults.stdout).toContain(`✘ leftover cgroup ${cgroup}`);
    expect(faults.stdout).toContain(`✘ leftover state dir ${stateDir}`);
    const prune = box.tbox(['system', 'prune', '-f']);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain('removed veth tb0123456789');
    expect(fs.existsSync(cgroup)).toBe(false);
    expect(fs.existsSync(stateDir)).toBe(false);
    box.sh('ip link del tbtov0');
    expect(doctor().code).toBe(0);
    // d1 is untouched
    expect(box.tbox(['exec', 'd1', 'true']).code).toBe(0);
  });
});

describe('tbox network diagram', () => {
  it('names every container, IP and veth of the network, as text within 100 columns and as an SVG that parses', () => {
    const box = sandbox();
    const n = network(box, 'pic', ['web', 'db']);
    const text = box.tbox(['network', 'diagram', 'pic']);
    expect(text.code).toBe(0);
    for (const c of ['web', 'db']) {
      const s = inspect(box, c).NetworkSettings;
      for (const word of [c, s.IPAddress, s.Networks.pic.HostVeth, s.MacAddress]) expect(text.stdout).toContain(word);
    }
    expect(text.stdout).toContain(`bridge ${n.bridge}  ${n.gateway}/24  UP`);
    expect(text.stdout).toContain('MASQUERADE');
    expect(Math.max(...text.stdout.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(100);
    const svg = path.join(box.root, 'pic.svg');
    expect(box.tbox(['network', 'diagram', 'pic', '--svg', svg]).code).toBe(0);
    expect(run('xmllint', ['--noout', svg]).code).toBe(0);
    const picture = fs.readFileSync(svg, 'utf8');
    for (const c of ['web', 'db']) expect(picture).toContain(inspect(box, c).NetworkSettings.Networks.pic.HostVeth);
  });
});
