/**
 * Published ports against the real kernel: DNAT from loopback, from the
 * host's own address, from an "outside" netns of the test's own, and from
 * other containers (hairpin); UDP and ranges; clashes; and no rule or port
 * left behind. No traffic leaves the machine.
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  capture,
  eventually,
  httpGet,
  makeSandbox,
  makeUpstream,
  run,
  sh,
  udpSend,
  type Result,
  type Sandbox,
  type Upstream,
} from '../helpers.js';

let box: Sandbox;
let up: Upstream;
beforeAll(() => {
  box = makeSandbox();
  up = makeUpstream();
});
afterAll(() => {
  up.remove();
  box.cleanup();
});
// A test that failed half-way leaves no container to confuse the next one.
afterEach(() => {
  const left = box.tbox(['ps', '-aq']).stdout.trim().split('\n').filter(Boolean);
  if (left.length) box.tbox(['rm', '-f', ...left]);
});

/** Host ports unique to this worker: 21000 + 100 * pool + n. */
const pool = Number(process.env.VITEST_POOL_ID ?? 1) % 100;
let nextPort = 0;
const hostPort = () => 21000 + 100 * pool + ++nextPort;

/** A busybox httpd on each port given, logging each client's address (-v) to stderr. */
const WEB = (ports: number[]) => [
  'busybox',
  'sh',
  '-c',
  // `a && b & c &` would start c at once, before /www exists: each line runs in turn.
  `mkdir -p /www; hostname > /www/index.html; ${ports.map((p) => `httpd -f -v -p ${p} -h /www &`).join(' ')} wait`,
];
const fetch = (url: string) => httpGet(url);
/** httpd binds a moment after `run -d` returns: wait until it answers in the container. */
const ready = async (name: string, ports: number[]) => {
  for (const p of ports) {
    let last: Result | undefined;
    const answered = () => (last = box.tbox(['exec', name, 'wget', '-qO-', `http://127.0.0.1:${p}/`])).stdout === `${name}\n`;
    await eventually(answered, 20_000).catch(() => {
      throw new Error(`${name} does not answer on ${p}: ${JSON.stringify(last)}; logs: ${JSON.stringify(box.tbox(['logs', name]))}`);
    });
  }
};
const portRules = () =>
  run('iptables-save', [])
    .stdout.split('\n')
    .filter((l) => l.includes(box.env.TBOX_CHAIN_PREFIX!) && l.includes('tbox:'));
const startWeb = async (name: string, publish: string[], ports = [80]) => {
  const r = box.tbox(['run', '-d', '--name', name, '--hostname', name, ...publish.flatMap((p) => ['-p', p]), ...WEB(ports)]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  await ready(name, ports);
};

describe('a published port', () => {
  it('is reachable from 127.0.0.1, the host address, outside, and other containers, and the server sees outside clients as they are', async () => {
    const port = hostPort();
    await startWeb('web1', [`${port}:80`]);
    try {
      expect(fetch(`http://127.0.0.1:${port}/`).stdout).toBe('web1\n');
      expect(fetch(`http://${up.hostIp}:${port}/`).stdout).toBe('web1\n');
      const outside = httpGet(`http://${up.hostIp}:${port}/`, up.ns);
      expect(outside.stdout).toBe('web1\n');
      // hairpin: another container through the host's address and through the gateway
      const gateway = JSON.parse(box.tbox(['inspect', 'web1']).stdout)[0].NetworkSettings.Gateway;
      const peer = box.tbox([
        'run',
        '--rm',
        'busybox',
        'sh',
        '-c',
        `wget -qO- http://${up.hostIp}:${port}/ && wget -qO- http://${gateway}:${port}/`,
      ]);
      expect(peer.stdout).toBe('web1\nweb1\n');
      // and the container itself, through the gateway
      expect(box.tbox(['exec', 'web1', 'wget', '-qO-', `http://${gateway}:${port}/`]).stdout).toBe('web1\n');
      const log = box.tbox(['logs', 'web1']).stderr;
      expect(log).toContain(`[::ffff:${up.upstreamIp}]`);
      expect(box.tbox(['port', 'web1']).stdout).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
      expect(box.tbox(['port', 'web1', '80']).stdout).toBe(`0.0.0.0:${port}\n`);
      const ps = box.tbox(['ps', '--format', '{{.Ports}}']).stdout;
      expect(ps).toContain(`0.0.0.0:${port}->80/tcp`);
      const ports = JSON.parse(box.tbox(['inspect', 'web1']).stdout)[0].NetworkSettings.Ports;
      expect(ports['80/tcp']).toEqual([{ HostIp: '0.0.0.0', HostPort: String(port) }]);
    } finally {
      box.tbox(['rm', '-f', 'web1']);
    }
    expect(portRules()).toEqual([]);
  });

  it('on 127.0.0.1 is not reachable from outside, even by a packet sent to 127.0.0.1 (Docker before 28)', async () => {
    const [tcp, udp] = [hostPort(), hostPort()];
    await startWeb('local1', [`127.0.0.1:${tcp}:80`]);
    const r = box.tbox(['run', '-d', '--name', 'local2', '-p', `127.0.0.1:${udp}:5353/udp`, 'busybox', 'sleep', '600']);
    expect(r.code).toBe(0);
    const { IPAddress: ip, Networks } = JSON.parse(box.tbox(['inspect', 'local2']).stdout)[0].NetworkSettings;
    const veth = Networks.bridge.HostVeth;
    const arrives = (text: string) =>
      capture(veth, `udp and dst port 5353`, () => expect(udpSend('127.0.0.1', udp, text, up.ns).code).toBe(0));
    // The attacker next door sends to 127.0.0.1 through the host: its own loopback route gone, route_localnet on.
    const aim = up.exec(`ip route del local 127.0.0.0/8 dev lo table local; ip route del local 127.0.0.1 dev lo table local;
      echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet; ip route add 127.0.0.1/32 via ${up.hostIp} dev eth0`);
    expect(aim.code).toBe(0);
    try {
      expect(fetch(`http://127.0.0.1:${tcp}/`).stdout).toBe('local1\n');
      expect(httpGet(`http://${up.hostIp}:${tcp}/`, up.ns).code).not.toBe(0);
      expect(httpGet(`http://127.0.0.1:${tcp}/`, up.ns).code).not.toBe(0);
      // locally it arrives; from next door it does not
      expect(await capture(veth, 'udp and dst port 5353', () => expect(udpSend('127.0.0.1', udp, 'local').code).toBe(0))).toContain(
        `${ip}.5353`,
      );
      expect(await arrives('attack')).toBe('');
      // The probe itself works: with the rule Docker had (DNAT for 127.0.0.1 in PREROUTING), it gets through.
      const vulnerable = `PREROUTING -d 127.0.0.1/32 -p udp --dport ${udp} -m comment --comment tbt${pool}vuln -j DNAT --to-destination ${ip}:5353`;
      expect(sh(`iptables -w -t nat -I ${vulnerable}`).code).toBe(0);
      try {
        expect(await arrives('through')).toContain(`${ip}.5353`);
      } finally {
        sh(`iptables -w -t nat -D ${vulnerable}`);
      }
    } finally {
      box.tbox(['rm', '-f', 'local1', 'local2']);
    }
  });

  it('works for UDP and for a range, and ps shows the range as Docker does', async () => {
    const [a, b, c, u] = [hostPort(), hostPort(), hostPort(), hostPort()];
    expect(b).toBe(a + 1);
    expect(c).toBe(a + 2);
    await startWeb('range1', [`${a}-${c}:80-82`], [80, 81, 82]);
    const r = box.tbox(['run', '-d', '--name', 'udp1', '-p', `${u}:5353/udp`, 'busybox', 'sleep', '600']);
    expect(r.code).toBe(0);
    const { IPAddress: udpIp, Networks } = JSON.parse(box.tbox(['inspect', 'udp1']).stdout)[0].NetworkSettings;
    try {
      for (const p of [a, b, c]) expect(httpGet(`http://${up.hostIp}:${p}/`, up.ns).stdout).toBe('range1\n');
      expect(box.tbox(['ps', '--format', '{{.Names}} {{.Ports}}']).stdout).toContain(`range1 0.0.0.0:${a}-${c}->80-82/tcp`);
      // this busybox's nc has no UDP: tcpdump on the container's veth sees the datagram arrive, from the outside client's address
      const seen = await capture(Networks.bridge.HostVeth, 'udp and dst port 5353', () =>
        expect(udpSend(up.hostIp, u, 'over-udp', up.ns).code).toBe(0),
      );
      expect(seen).toContain(`${up.upstreamIp}.`);
      expect(seen).toContain(`> ${udpIp}.5353`);
    } finally {
      box.tbox(['rm', '-f', 'range1', 'udp1']);
    }
    expect(portRules()).toEqual([]);
  });

  it('-P publishes the exposed ports on free host ports', async () => {
    const r = box.tbox([
      'run',
      '-d',
      '--name',
      'pall',
      '--hostname',
      'pall',
      '--expose',
      '80',
      '--expose',
      '90-91/udp',
      '-P',
      ...WEB([80]),
    ]);
    expect(r.code).toBe(0);
    await ready('pall', [80]);
    try {
      const lines = box.tbox(['port', 'pall']).stdout.trim().split('\n').sort();
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^80\/tcp -> 0\.0\.0\.0:\d+$/);
      expect(lines[1]).toMatch(/^90\/udp -> 0\.0\.0\.0:\d+$/);
      const port = lines[0]!.split(':')[1];
      expect(fetch(`http://127.0.0.1:${port}/`).stdout).toBe('pall\n');
    } finally {
      box.tbox(['rm', '-f', 'pall']);
    }
  });
});

describe("the host's loopback", () => {
  it('is closed to containers, though route_localnet is on for the bridge', async () => {
    const port = hostPort();
    const server = net.createServer((s) => s.end('loopback\n'));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const gateway = JSON.parse(box.tbox(['network', 'inspect', 'bridge']).stdout)[0].Gateway;
    // A container with every privilege routes 127.0.0.1 to the host through its gateway. Its kernel
    // then ignores the answer (a 127.0.0.1 source on eth0), so what counts is whether the host's
    // loopback service answers at all: its SYN-ACK on the bridge.
    const attack = () =>
      capture(
        box.env.TBOX_BRIDGE!,
        `tcp and src host 127.0.0.1 and src port ${port}`,
        () =>
        box.tbox([
          'run', '--rm', '--privileged', 'busybox', 'sh', '-c',
          `ip route del local 127.0.0.0/8 dev lo table local; ip route del local 127.0.0.1 dev lo table local;
           echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet; ip route add 127.0.0.1/32 via ${gateway} dev eth0;
           echo | nc -w 1 127.0.0.1 ${port}`,
        ]), // prettier-ignore
      );
    try {
      expect(await attack()).toBe('');
      // The probe itself works: without tbox's INPUT rule the host's loopback answers.
      expect(sh(`iptables -w -F ${box.env.TBOX_CHAIN_PREFIX}-INPUT`).code).toBe(0);
      expect(await attack()).toContain(`127.0.0.1.${port} >`);
    } finally {
      server.close();
      // put the rule back: apply rewrites tbox's chains whole
      box.tbox(['network', 'create', '--subnet', `10.${100 + pool}.249.0/24`, 'reapply']);
      box.tbox(['network', 'rm', 'reapply']);
    }
    expect(run('iptables-save', []).stdout).toContain(`-A ${box.env.TBOX_CHAIN_PREFIX}-INPUT -d 127.0.0.0/8`);
  });
});

describe('a host port that is taken', () => {
  const nothingLeft = (before: string[]) => {
    expect(box.tbox(['ps', '-aq']).stdout.trim().split('\n').filter(Boolean).sort()).toEqual(before);
    expect(portRules()).toEqual([]);
    expect(JSON.parse(box.tbox(['network', 'inspect', 'bridge']).stdout)[0].Containers).toEqual({});
  };

  it('by a tbox container or by a host process is refused before anything starts, leaving nothing behind', async () => {
    const port = hostPort();
    const r1 = box.tbox(['run', '-d', '--name', 'holder', '-p', `${port}:80`, 'busybox', 'sleep', '600']);
    expect(r1.code).toBe(0);
    const holderRules = portRules();
    const clash = box.tbox(['run', '--rm', '-p', `127.0.0.1:${port}:80`, 'busybox', 'true']);
    expect(clash.code).toBe(125);
    expect(clash.stderr.trim().split('\n')).toHaveLength(1);
    expect(clash.stderr).toMatch(/port is already allocated/);
    expect(portRules()).toEqual(holderRules);
    box.tbox(['rm', '-f', 'holder']);
    nothingLeft([]);

    const other = hostPort();
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(other, '0.0.0.0', r));
    try {
      const taken = box.tbox(['run', '--name', 'late', '-p', `${other}:80`, 'busybox', 'true']);
      expect(taken.code).toBe(125);
      expect(taken.stderr).toMatch(/in use on this host by another process/);
      nothingLeft([]);
    } finally {
      server.close();
    }
  });

  it('is held by the container while it runs: a host process cannot take it', async () => {
    const port = hostPort();
    expect(box.tbox(['run', '-d', '--name', 'keeper', '-p', `${port}:80`, 'busybox', 'sleep', '600']).code).toBe(0);
    try {
      const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        const s = net.createServer();
        s.once('error', resolve);
        s.listen(port, '0.0.0.0', () => s.close(() => resolve(undefined)));
      });
      expect(err?.code).toBe('EADDRINUSE');
    } finally {
      box.tbox(['rm', '-f', 'keeper']);
    }
  });

  it('of 20 parallel `run -p` of the same port, exactly one wins', async () => {
    const port = hostPort();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        box.tboxAsync(['run', '-d', '--name', `race${i}`, '-p', `${port}:80`, 'busybox', 'sleep', '600']),
      ),
    );
    try {
      expect(results.filter((r) => r.code === 0)).toHaveLength(1);
      for (const r of results.filter((x) => x.code !== 0)) expect(r.stderr).toMatch(/already allocated|in use/);
      expect(box.tbox(['ps', '-q']).stdout.trim().split('\n')).toHaveLength(1);
    } finally {
      box.tbox(['rm', '-f', ...results.map((_, i) => `race${i}`)]);
    }
    nothingLeft([]);
  });

  it('leaves no rule after stop, or after kill -9 of the monitor and any next command; start brings the rules back', async () => {
    const port = hostPort();
    await startWeb('k9', [`${port}:80`]);
    const rules = portRules();
    expect(rules.length).toBe(3);
    expect(box.tbox(['stop', '-t', '1', 'k9']).code).toBe(0);
    expect(portRules()).toEqual([]);
    expect(box.tbox(['start', 'k9']).code).toBe(0);
    expect(portRules()).toHaveLength(3);
    await ready('k9', [80]);
    expect(fetch(`http://127.0.0.1:${port}/`).stdout).toBe('k9\n');
    // one rule gone by hand: the exact delete fails, and teardown sweeps by the container's mark instead
    const hairpin = portRules().find((l) => l.includes('-HAIRPIN '))!;
    expect(run('iptables', ['-w', '-t', 'nat', ...hairpin.replace(/^-A /, '-D ').replace(/"/g, '').split(' ')]).code).toBe(0);
    expect(portRules()).toHaveLength(2);
    const shim = JSON.parse(box.tbox(['inspect', 'k9']).stdout)[0].MonitorPid;
    process.kill(shim, 'SIGKILL');
    box.tbox(['ps']);
    expect(portRules()).toEqual([]);
    box.tbox(['rm', '-f', 'k9']);
  });
});

describe('bad -p input', () => {
  it.each([['99999:80'], ['8080:80/sctp'], ['1-3:80-81'], ['a:b:c:d'], ['300.1.1.1:80:80'], ['[::1]:80:80']])(
    '%s: one line, exit 125',
    (p) => {
      const r = box.tbox(['run', '--rm', '-p', p, 'busybox', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(box.tbox(['ps', '-aq']).stdout).toBe('');
    },
  );
});
