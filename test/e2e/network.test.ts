/**
 * Bridge networking against the real kernel. Traffic goes only to addresses
 * in namespaces these tests create; the "internet" is an upstream netns.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, makeUpstream, run, sh, uniqueNet, type Sandbox } from '../helpers.js';

let box: Sandbox;
beforeAll(() => {
  box = makeSandbox();
});
afterAll(() => box.cleanup());

const inspect = (ref: string) => JSON.parse(box.tbox(['inspect', ref]).stdout)[0];
const ipOf = (ref: string) => inspect(ref).NetworkSettings.IPAddress as string;
const links = () =>
  run('ip', ['-o', 'link', 'show'])
    .stdout.split('\n')
    .filter(Boolean)
    .map((l) => l.split(': ')[1]!.split('@')[0]!)
    .sort();
const tboxRules = () =>
  run('iptables-save', [])
    .stdout.split('\n')
    .filter((l) => l.includes(box.env.TBOX_CHAIN_PREFIX!));
/** A connected route on the host, on a veth of the test's own (this kernel has no dummy driver). */
const addHostRoute = (dev: string, address: string) =>
  expect(
    sh(
      `ip link add ${dev} type veth peer name ${dev}p && ip addr add ${address} dev ${dev} && ip link set ${dev}p up && ip link set ${dev} up`,
    ).code,
  ).toBe(0);
const startDetached = (name: string, args: string[] = []) => {
  const r = box.tbox(['run', '-d', '--name', name, ...args, 'busybox', 'sleep', '600']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
};

describe('the default bridge network', () => {
  it('is made on first use with the configured subnet, gateway .1, and lists with host and none', () => {
    const ls = box.tbox(['network', 'ls']).stdout;
    expect(ls).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SUBNET\s+GATEWAY\s+CONTAINERS\n/);
    const subnet = box.env.TBOX_BRIDGE_SUBNET!;
    const gateway = subnet.replace(/0\/24$/, '1');
    expect(ls).toMatch(new RegExp(`\\sbridge\\s+bridge\\s+${subnet.replace(/\./g, '\\.')}\\s+${gateway.replace(/\./g, '\\.')}\\s+0\\n`));
    expect(ls).toMatch(/\nhost\s+host\s+host\s/);
    expect(ls).toMatch(/\nnone\s+none\s+null\s/);
    expect(run('ip', ['-o', '-4', 'addr', 'show', 'dev', box.env.TBOX_BRIDGE!]).stdout).toContain(`${gateway}/24`);
    expect(sh('cat /proc/sys/net/ipv4/ip_forward').stdout.trim()).toBe('1');
  });

  it('connects two containers: ping both ways, ARP, and tcpdump on the bridge sees it', async () => {
    startDetached('app3');
    startDetached('app4');
    const [ip3, ip4] = [ipOf('app3'), ipOf('app4')];
    expect(ip3).not.toBe(ip4);

    const dump = spawn('tcpdump', ['-i', box.env.TBOX_BRIDGE!, '-n', '-l', '-c', '4', 'icmp'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let captured = '';
    dump.stdout.on('data', (d) => (captured += d));
    const dumped = new Promise((r) => dump.on('exit', r));
    // tcpdump says "listening on ..." once its capture is attached.
    await new Promise<void>((resolve) => dump.stderr.on('data', (d) => String(d).includes('listening on') && resolve()));

    const there = box.tbox(['exec', 'app3', 'ping', '-c', '2', '-W', '2', ip4]);
    const back = box.tbox(['exec', 'app4', 'ping', '-c', '2', '-W', '2', ip3]);
    expect(there.stdout).toMatch(/2 packets transmitted, 2 (packets )?received/);
    expect(back.stdout).toMatch(/2 packets transmitted, 2 (packets )?received/);
    const timer = setTimeout(() => dump.kill(), 5000);
    await dumped;
    clearTimeout(timer);
    expect(captured).toMatch(new RegExp(`${ip3.replace(/\./g, '\\.')} > ${ip4.replace(/\./g, '\\.')}: ICMP echo request`));
    expect(captured).toMatch(/ICMP echo reply/);

    const neigh = box.tbox(['exec', 'app3', 'ip', 'neigh']).stdout;
    expect(neigh).toContain(`${ip4} dev eth0 lladdr ${inspect('app4').NetworkSettings.MacAddress}`);
  });

  it('gives each container eth0, lo up, a default route via the gateway, and /etc/hosts with its IP', () => {
    const out = box.tbox([
      'exec',
      'app3',
      'sh',
      '-c',
      'ip -o link | cut -d: -f2 | tr -d " " | cut -d@ -f1; ip route; cat /etc/hosts',
    ]).stdout;
    const gateway = box.env.TBOX_BRIDGE_SUBNET!.replace(/0\/24$/, '1');
    expect(out).toMatch(/^lo\neth0\n/);
    expect(out).toContain(`default via ${gateway} dev eth0`);
    expect(out).toContain(`${ipOf('app3')}\t${inspect('app3').Config.Hostname} app3\n`);
  });

  it('the host reaches a container, and a container reaches the host through the gateway', () => {
    expect(run('ping', ['-c', '1', '-W', '2', ipOf('app3')]).code).toBe(0);
    const gateway = box.env.TBOX_BRIDGE_SUBNET!.replace(/0\/24$/, '1');
    expect(box.tbox(['exec', 'app3', 'ping', '-c', '1', '-W', '2', gateway]).code).toBe(0);
  });

  it('network inspect lists each container with IP, MAC and host veth', () => {
    const [net] = JSON.parse(box.tbox(['network', 'inspect', 'bridge']).stdout);
    expect(net.Bridge).toBe(box.env.TBOX_BRIDGE);
    const entries = Object.values(net.Containers) as { Name: string; IPv4Address: string; MacAddress: string; HostVeth: string }[];
    const app3 = entries.find((e) => e.Name === 'app3')!;
    expect(app3.IPv4Address).toBe(`${ipOf('app3')}/24`);
    expect(app3.MacAddress).toMatch(/^02:42(:[0-9a-f]{2}){4}$/);
    expect(run('ip', ['-o', 'link', 'show', app3.HostVeth]).stdout).toContain(`master ${box.env.TBOX_BRIDGE}`);
  });

  it("rm, and kill -9 behind tbox's back, leave no veth and no lease", () => {
    const veth3 = inspect('app3').NetworkSettings.Networks.bridge.HostVeth;
    const veth4 = inspect('app4').NetworkSettings.Networks.bridge.HostVeth;
    expect(box.tbox(['rm', '-f', 'app3']).code).toBe(0);
    process.kill(inspect('app4').State.Pid, 'SIGKILL');
    box.tbox(['ps']); // any command reconciles
    expect(links()).not.toContain(veth3);
    expect(links()).not.toContain(veth4);
    const [net] = JSON.parse(box.tbox(['network', 'inspect', 'bridge']).stdout);
    expect(net.Containers).toEqual({});
    box.tbox(['rm', 'app4']);
  });

  it('--network none and host are unaffected by the bridge', () => {
    expect(box.tbox(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']).stdout.trim().split('\n')).toHaveLength(1);
    expect(box.tbox(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']).stdout).toContain(box.env.TBOX_BRIDGE!);
  });
});

/**
 * The "internet": a netns of the test's own behind a veth, routed from the
 * host, with a TCP listener that answers with the peer address it sees.
 */
async function withUpstream(body: (upstreamIp: string, hostIp: string) => Promise<void>): Promise<void> {
  const up = makeUpstream();
  let listener: ReturnType<typeof spawn> | undefined;
  try {
    const server = `require("net").createServer(s=>s.end(s.remoteAddress+"\\n")).listen(8080,"0.0.0.0",()=>console.log("ready")) // tbt`;
    listener = spawn('ip', ['netns', 'exec', up.ns, process.execPath, '-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => listener!.stdout!.once('data', r));
    await body(up.upstreamIp, up.hostIp);
  } finally {
    listener?.kill();
    up.remove();
  }
}

describe('NAT to the outside', () => {
  it('MASQUERADEs a container to an upstream namespace, which sees the host address', async () => {
    await withUpstream(async (upstreamIp, hostIp) => {
      const r = box.tbox(['run', '--rm', 'busybox', 'sh', '-c', `echo | nc -w 3 ${upstreamIp} 8080`]);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(hostIp);
    });
  });

  it('keeps working with FORWARD policy DROP (as with Docker) and br_netfilter on', async () => {
    // br_netfilter sends bridged frames through iptables' FORWARD chain, so
    // same-bridge traffic needs tbox's accept rule as much as routed traffic.
    expect(sh('cat /proc/sys/net/bridge/bridge-nf-call-iptables').stdout.trim()).toBe('1');
    const policy = /-P FORWARD (\w+)/.exec(run('iptables', ['-S', 'FORWARD']).stdout)![1]!;
    sh('iptables -P FORWARD DROP');
    try {
      await withUpstream(async (upstreamIp, hostIp) => {
        startDetached('d1');
        startDetached('d2');
        expect(box.tbox(['exec', 'd1', 'ping', '-c', '1', '-W', '2', ipOf('d2')]).code).toBe(0);
        const r = box.tbox(['exec', 'd1', 'sh', '-c', `echo | nc -w 3 ${upstreamIp} 8080`]);
        expect(r.stdout.trim()).toBe(hostIp);
      });
    } finally {
      sh(`iptables -P FORWARD ${policy}`);
      box.tbox(['rm', '-f', 'd1', 'd2']);
    }
  });
});

describe('user-defined networks', () => {
  it('are isolated from each other but reach their own members', () => {
    const [a, b] = [uniqueNet(), uniqueNet()];
    expect(box.tbox(['network', 'create', '--subnet', a.subnet, '-o', `com.docker.network.bridge.name=${a.bridge}`, 'neta']).code).toBe(0);
    expect(
      box.tbox([
        'network',
        'create',
        '--subnet',
        b.subnet,
        '--gateway',
        `${b.prefix}.254`,
        '-o',
        `com.docker.network.bridge.name=${b.bridge}`,
        'netb',
      ]).code,
    ).toBe(0);
    startDetached('a1', ['--network', 'neta']);
    startDetached('a2', ['--network', 'neta', '--ip', `${a.prefix}.77`]);
    startDetached('b1', ['--network', 'netb']);
    expect(ipOf('a2')).toBe(`${a.prefix}.77`);
    expect(ipOf('b1')).toBe(`${b.prefix}.1`); // .254 is the gateway here
    expect(box.tbox(['exec', 'a1', 'ping', '-c', '1', '-W', '2', ipOf('a2')]).code).toBe(0);
    expect(box.tbox(['exec', 'a1', 'ping', '-c', '1', '-W', '1', ipOf('b1')]).code).not.toBe(0);
    expect(box.tbox(['exec', 'b1', 'ping', '-c', '1', '-W', '1', ipOf('a1')]).code).not.toBe(0);
    expect(box.tbox(['exec', 'b1', 'ping', '-c', '1', '-W', '2', `${b.prefix}.254`]).code).toBe(0);

    const ls = box.tbox(['network', 'ls', '--format', '{{.Name}} {{.Containers}}']).stdout;
    expect(ls).toContain('neta 2\n');
    const busy = box.tbox(['network', 'rm', 'neta']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/has 2 running containers/);
    box.tbox(['rm', '-f', 'a1', 'a2', 'b1']);
    expect(box.tbox(['network', 'rm', 'neta', 'netb']).code).toBe(0);
    expect(links()).not.toContain(a.bridge);
    expect(tboxRules().join('\n')).not.toContain(a.bridge);
  });

  it('hands out 50 distinct addresses to 50 containers started at once', async () => {
    const net = uniqueNet();
    box.tbox(['network', 'create', '--subnet', net.subnet, '-o', `com.docker.network.bridge.name=${net.bridge}`, 'crowd']);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        box.tboxAsync(['run', '-d', '--name', `c${i}`, '--network', 'crowd', 'busybox', 'sleep', '600']),
      ),
    );
    expect(results.filter((r) => r.code !== 0)).toEqual([]);
    expect(results.map((r) => r.stderr).join('')).not.toMatch(/busy|locked/i);
    const [info] = JSON.parse(box.tbox(['network', 'inspect', 'crowd']).stdout);
    const ips = Object.values(info.Containers).map((c) => (c as { IPv4Address: string }).IPv4Address);
    expect(ips).toHaveLength(50);
    expect(new Set(ips).size).toBe(50);
    expect(box.tbox(['rm', '-f', ...Array.from({ length: 50 }, (_, i) => `c${i}`)]).code).toBe(0);
    expect(box.tbox(['network', 'rm', 'crowd']).code).toBe(0);
  });

  it('a full /29 refuses the next container cleanly, and rotates rather than reusing a freed address', () => {
    const net = uniqueNet();
    const subnet = `${net.prefix}.0/29`;
    box.tbox(['network', 'create', '--subnet', subnet, '-o', `com.docker.network.bridge.name=${net.bridge}`, 'tiny']);
    for (let i = 0; i < 5; i++) startDetached(`t${i}`, ['--network', 'tiny']);
    const got = Array.from({ length: 5 }, (_, i) => ipOf(`t${i}`));
    expect(got).toEqual([2, 3, 4, 5, 6].map((h) => `${net.prefix}.${h}`));
    const linksBefore = links();
    const full = box.tbox(['run', '-d', '--name', 't5', '--network', 'tiny', 'busybox', 'sleep', '600']);
    expect(full.code).toBe(125);
    expect(full.stderr).toBe(`tbox: no free address in network tiny: ${subnet} is full\n`);
    expect(box.tbox(['ps', '-a', '--format', '{{.Names}}']).stdout).not.toContain('t5');
    expect(links()).toEqual(linksBefore);

    box.tbox(['rm', '-f', 't1', 't3']); // frees .3 and .5
    startDetached('t6', ['--network', 'tiny']);
    expect(ipOf('t6')).toBe(`${net.prefix}.3`); // the search wrapped; .3 was freed first
    box.tbox(['rm', '-f', 't0', 't2', 't4', 't6']);
    box.tbox(['network', 'rm', 'tiny']);
  });
});

describe('bad network input: one line, exit 125, nothing left behind', () => {
  it.each([
    [['network', 'create', '--subnet', '10.1.2.0/33', 'x'], /invalid CIDR "10\.1\.2\.0\/33"/],
    [['network', 'create', '--subnet', 'banana', 'x'], /invalid CIDR "banana"/],
    [['network', 'create', '--subnet', '10.1.2.5/24', 'x'], /host bits are set/],
    [['network', 'create', '--subnet', '10.1.2.0/24', '--gateway', '10.9.9.9', 'x'], /gateway 10\.9\.9\.9 is not a usable address/],
    [['network', 'create', 'bad name'], /invalid network name/],
    [['network', 'create', '--subnet', '10.1.2.0/31', 'x'], /too small/],
    [['network', 'create', 'host'], /reserved/],
    [['network', 'rm', 'bridge'], /pre-defined network and cannot be removed/],
    [['network', 'rm', 'nosuchnet'], /network nosuchnet not found/],
    [['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true'], /network nosuchnet not found/],
    [['run', '--rm', '--ip', '10.1.1.1', '--network', 'none', 'busybox', 'true'], /--ip needs a bridge network/],
  ])('%j', (args, message) => {
    box.tbox(['network', 'ls']);
    const [linksBefore, rulesBefore, netsBefore] = [links(), tboxRules(), box.tbox(['network', 'ls', '-q']).stdout];
    const r = box.tbox(args as string[]);
    // rm of names is Docker's 1 for a name it cannot act on; the rest, 125
    expect(r.code).toBe((args as string[])[1] === 'rm' ? 1 : 125);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(links()).toEqual(linksBefore);
    expect(tboxRules()).toEqual(rulesBefore);
    expect(box.tbox(['network', 'ls', '-q']).stdout).toBe(netsBefore);
  });

  it('refuses duplicates, overlaps with networks and host routes, and a taken or foreign --ip', () => {
    const [n, m, d] = [uniqueNet(), uniqueNet(), uniqueNet()];
    box.tbox(['network', 'create', '--subnet', n.subnet, '-o', `com.docker.network.bridge.name=${n.bridge}`, 'first']);
    const expectFail = (args: string[], message: RegExp) => {
      const r = box.tbox(args);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(message);
    };
    expectFail(['network', 'create', '--subnet', m.subnet, 'first'], /network with name first already exists/);
    expectFail(['network', 'create', '--subnet', `${n.prefix}.128/25`, 'second'], /overlaps network first/);
    // A host route of the test's own; nothing is sent to it.
    addHostRoute(d.bridge, `${d.prefix}.1/24`);
    try {
      expectFail(
        ['network', 'create', '--subnet', d.subnet, 'third'],
        new RegExp(`overlaps host route ${d.subnet.replace(/\./g, '\\.')} dev ${d.bridge}`),
      );
    } finally {
      sh(`ip link del ${d.bridge}`);
    }
    startDetached('holder', ['--network', 'first', '--ip', `${n.prefix}.9`]);
    const before = box.tbox(['ps', '-aq']).stdout;
    expectFail(['run', '-d', '--network', 'first', '--ip', `${n.prefix}.9`, 'busybox', 'true'], /--ip 10\.\d+\.\d+\.9 is already in use/);
    expectFail(['run', '-d', '--network', 'first', '--ip', `${m.prefix}.9`, 'busybox', 'true'], /is not a usable address in network first/);
    expectFail(['run', '-d', '--network', 'first', '--ip', `${n.prefix}.1`, 'busybox', 'true'], /is not a usable address/);
    expect(box.tbox(['ps', '-aq']).stdout).toBe(before);
    box.tbox(['rm', '-f', 'holder']);
    box.tbox(['network', 'rm', 'first']);
  });

  it('falls back to a free pool subnet when the default one overlaps a host route, and says so', () => {
    const other = makeSandbox();
    const blocker = uniqueNet();
    addHostRoute(blocker.bridge, other.env.TBOX_BRIDGE_SUBNET!.replace(/0\/24$/, '1/24'));
    try {
      const r = other.tbox(['network', 'ls']);
      const pooled = other.env.TBOX_SUBNET_POOL!.split(',')[0]!;
      expect(r.stderr).toMatch(new RegExp(`overlaps host route .*; using ${pooled.replace(/\./g, '\\.')} for ${other.env.TBOX_BRIDGE}`));
      expect(r.stdout).toMatch(new RegExp(`bridge\\s+bridge\\s+${pooled.replace(/\./g, '\\.')}`));
      // Remembered: the next command says nothing and keeps it.
      const again = other.tbox(['network', 'ls']);
      expect(again.stderr).toBe('');
      expect(again.stdout).toContain(pooled);
    } finally {
      sh(`ip link del ${blocker.bridge}`);
      other.cleanup();
    }
  });
});

describe('firewall rules', () => {
  it('stay exactly one copy after 100 applies, and vanish with the last network', async () => {
    const net = uniqueNet();
    const prefix = `TBT${net.third}Z`;
    // dist is CommonJS (it starts faster): load it as Node would.
    const { IptablesFirewall } = createRequire(import.meta.url)('../../dist/network/firewall/iptables.js');
    const fw = new IptablesFirewall(prefix);
    const nets = [{ name: 'idem', bridge: net.bridge, subnet: net.subnet }];
    const mine = () =>
      run('iptables-save', [])
        .stdout.split('\n')
        .filter((l) => l.includes(prefix));
    try {
      fw.apply(nets);
      const once = mine();
      expect(once.length).toBeGreaterThan(5);
      for (let i = 0; i < 99; i++) fw.apply(nets);
      expect(mine()).toEqual(once);
    } finally {
      fw.apply([]);
    }
    expect(mine()).toEqual([]);
  });
});
