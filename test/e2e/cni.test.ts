/**
 * tbox-cni against the real kernel: the CNI protocol called directly, as the
 * spec describes it (env + config on stdin, JSON on stdout), then by a real
 * Podman through its CNI backend.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoDir, run, runAsync, sh, uniqueNet, type Result } from '../helpers.js';
import { makePodman, type Podman } from '../podman.js';

const plugin = path.join(repoDir, 'scripts', 'tbox-cni');
const net = uniqueNet();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-test-cni-'));
const name = `tbcni${net.third}`;
const conf = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: '1.0.0', name, type: 'tbox-cni', bridge: net.bridge, subnet: net.subnet, ipMasq: true, dataDir, ...extra });
const netnsNames: string[] = [];

function cniEnv(command: string, containerId: string, netns?: string) {
  return {
    PATH: process.env.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    CNI_IFNAME: 'eth0',
    CNI_PATH: path.dirname(plugin),
    ...(netns ? { CNI_NETNS: `/run/netns/${netns}` } : {}),
  };
}
const cni = (command: string, containerId: string, netns?: string, config = conf()): Result =>
  run(plugin, [], { input: config, env: cniEnv(command, containerId, netns) });
const cniAsync = (command: string, containerId: string, netns: string) =>
  runAsync(plugin, [], { input: conf(), env: cniEnv(command, containerId, netns) });

function makeNetns(label: string): string {
  const ns = `tbt-cni-${net.third}-${label}`;
  expect(sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`).code).toBe(0);
  netnsNames.push(ns);
  return ns;
}

afterAll(() => {
  for (const ns of netnsNames) sh(`ip netns del ${ns}`);
  // the data root's bridge and chains: tbox's own reset knows them by the root's mark
  const r = run(process.execPath, [cliPath, 'system', 'reset', '-f'], { env: { ...process.env, TBOX_ROOT: dataDir } });
  fs.rmSync(dataDir, { recursive: true, force: true });
  expect(r.code).toBe(0);
});

describe('the CNI protocol, called directly', () => {
  it('VERSION lists the versions tbox-cni can answer in', () => {
    const r = cni('VERSION', '');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
  });

  it('ADD plugs two netns into one bridge from the IPAM database; they ping; CHECK, DEL twice, CHECK again', () => {
    const [a, b] = [makeNetns('a'), makeNetns('b')];
    const addA = cni('ADD', 'ctr-a', a);
    expect(addA.code, addA.stdout).toBe(0);
    const result = JSON.parse(addA.stdout);
    expect(result.cniVersion).toBe('1.0.0');
    expect(result.interfaces[0].name).toBe(net.bridge);
    expect(result.interfaces[2]).toMatchObject({ name: 'eth0', sandbox: `/run/netns/${a}` });
    expect(result.ips).toEqual([{ address: `${net.prefix}.2/24`, gateway: `${net.prefix}.1`, interface: 2 }]);
    expect(result.routes).toEqual([{ dst: '0.0.0.0/0', gw: `${net.prefix}.1` }]);
    // the interface really is what the result says
    expect(sh(`ip -n ${a} -4 -o addr show eth0`).stdout).toContain(`inet ${net.prefix}.2/24`);
    expect(sh(`ip -n ${a} route show default`).stdout).toContain(`default via ${net.prefix}.1 dev eth0`);
    expect(fs.readFileSync(`/sys/class/net/${result.interfaces[1].name}/master/uevent`, 'utf8')).toContain(`INTERFACE=${net.bridge}`);

    const addB = cni('ADD', 'ctr-b', b);
    expect(addB.code, addB.stdout).toBe(0);
    const ipB = JSON.parse(addB.stdout).ips[0].address.split('/')[0];
    expect(ipB).toBe(`${net.prefix}.3`);
    expect(sh(`ip netns exec ${a} ping -c 1 -W 2 ${ipB}`).code).toBe(0);
    // ipMasq: the subnet's MASQUERADE rule, as tbox's own networks have
    expect(sh('iptables-save -t nat').stdout).toMatch(new RegExp(`-s ${net.subnet.replace(/\./g, '\\.')} ! -o ${net.bridge} .*MASQUERADE`));

    expect(cni('CHECK', 'ctr-b', b).code).toBe(0);
    // CHECK sees what someone changed behind the plugin's back
    expect(sh(`ip -n ${b} route del default`).code).toBe(0);
    const broken = cni('CHECK', 'ctr-b', b);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ code: 100, msg: expect.stringContaining('no default route') });

    for (let i = 0; i < 2; i++) {
      const del = cni('DEL', 'ctr-b', b);
      expect(del.code, del.stdout).toBe(0);
      expect(del.stdout).toBe('');
    }
    expect(sh(`ip -n ${b} link show eth0`).code).not.toBe(0);
    const gone = cni('CHECK', 'ctr-b', b);
    expect(JSON.parse(gone.stdout).code).toBe(3);
    // DEL with the netns already gone (CNI_NETNS unset) still gives the address back
    expect(cni('DEL', 'ctr-a').code).toBe(0);
    const again = cni('ADD', 'ctr-c', b);
    expect(JSON.parse(again.stdout).ips[0].address).toMatch(new RegExp(`^${net.prefix.replace(/\./g, '\\.')}\\.[0-9]+/24$`));
    expect(cni('DEL', 'ctr-c', b).code).toBe(0);
  });

  it('answers 0.4.0 configs in the 0.4.0 result format', () => {
    const ns = makeNetns('v04');
    const r = cni('ADD', 'ctr-v04', ns, conf({ cniVersion: '0.4.0' }));
    expect(r.code, r.stdout).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.cniVersion).toBe('0.4.0');
    expect(result.ips[0]).toMatchObject({ version: '4', interface: 2 });
    expect(cni('DEL', 'ctr-v04', ns, conf({ cniVersion: '0.4.0' })).code).toBe(0);
  });

  it('bad input is an error object with the spec code, and changes nothing', () => {
    const ns = makeNetns('bad');
    const error = (r: Result) => {
      expect(r.code).toBe(1);
      const e = JSON.parse(r.stdout);
      expect(Object.keys(e).sort()).toEqual(['cniVersion', 'code', 'details', 'msg']);
      return e;
    };
    expect(error(cni('ADD', 'x', ns, '{not json')).code).toBe(6);
    expect(error(cni('ADD', 'x', ns, conf({ subnet: undefined }))).code).toBe(7);
    expect(error(cni('ADD', 'x', ns, conf({ subnet: '10.0.0.0/33' }))).code).toBe(7);
    expect(error(cni('ADD', 'x', ns, conf({ bridge: 'br; reboot' }))).code).toBe(7);
    expect(error(cni('ADD', 'x', ns, conf({ ipMasq: 'yes' }))).code).toBe(7);
    expect(error(cni('ADD', 'x', ns, conf({ cniVersion: '9.9.9' }))).code).toBe(1);
    expect(error(run(plugin, [], { input: conf(), env: { ...cniEnv('ADD', 'x', ns), CNI_IFNAME: 'eth0 up' } })).code).toBe(4);
    expect(error(run(plugin, [], { input: conf(), env: { ...cniEnv('ADD', 'x'), CNI_NETNS: '/run/netns/a b' } })).code).toBe(4);
    expect(error(run(plugin, [], { input: conf(), env: { ...cniEnv('ADD', '../x', ns) } })).code).toBe(4);
    // the same network name with another subnet is refused, not re-addressed
    expect(error(cni('ADD', 'x', ns, conf({ subnet: '10.250.250.0/24' }))).msg).toMatch(/exists with bridge/);
    expect(sh(`ip -n ${ns} link show eth0`).code).not.toBe(0);
    expect(cni('CHECK', 'x', ns).code).toBe(1);
  });

  it('10 parallel ADDs get 10 distinct addresses', async () => {
    const spaces = Array.from({ length: 10 }, (_, i) => makeNetns(`p${i}`));
    const results = await Promise.all(spaces.map((ns, i) => cniAsync('ADD', `par-${i}`, ns)));
    for (const r of results) expect(r.code, r.stdout).toBe(0);
    const addresses = results.map((r) => JSON.parse(r.stdout).ips[0].address);
    expect(new Set(addresses).size).toBe(10);
    const dels = await Promise.all(spaces.map((ns, i) => cniAsync('DEL', `par-${i}`, ns)));
    for (const r of dels) expect(r.code, r.stdout).toBe(0);
  });
});

describe("Podman's CNI backend with a tbox-cni network", () => {
  let pm: Podman;
  const podNet = uniqueNet();
  const podData = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-test-cni-podman-'));
  beforeAll(() => {
    pm = makePodman({ cni: true });
    fs.writeFileSync(
      path.join(pm.networkDir, 'tbpod.conflist'),
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'tbpod',
        plugins: [{ type: 'tbox-cni', bridge: podNet.bridge, subnet: podNet.subnet, ipMasq: true, dataDir: podData }],
      }),
    );
  }, 120_000);
  afterAll(() => {
    pm.cleanup();
    const r = run(process.execPath, [cliPath, 'system', 'reset', '-f'], { env: { ...process.env, TBOX_ROOT: podData } });
    fs.rmSync(podData, { recursive: true, force: true });
    expect(r.code).toBe(0);
  });

  it('podman run --network gets its address from tbox IPAM, and two containers ping each other', () => {
    const first = pm.podman(['run', '-d', '--name', 'one', '--pull', 'never', '--network', 'tbpod', pm.image, 'sleep', '600']);
    expect(first.code, first.stderr).toBe(0);
    const ip = pm.podman(['inspect', '-f', '{{(index .NetworkSettings.Networks "tbpod").IPAddress}}', 'one']).stdout.trim();
    expect(ip).toBe(`${podNet.prefix}.2`);
    // the lease is tbox's, in the config's dataDir
    const leases = run(process.execPath, [cliPath, 'network', 'inspect', 'tbpod'], { env: { ...process.env, TBOX_ROOT: podData } });
    expect(JSON.parse(leases.stdout)[0].IPAM.Config[0].Subnet).toBe(podNet.subnet);
    const ping = pm.podman(['run', '--rm', '--pull', 'never', '--network', 'tbpod', pm.image, 'ping', '-c', '1', '-W', '2', ip]);
    expect(ping.stdout + ping.stderr).toContain('1 packets received');
    expect(ping.code).toBe(0);
    expect(pm.podman(['rm', '-f', '-t', '0', 'one']).code).toBe(0);
    // podman rm ran DEL: the address is free again
    const again = pm.podman(['run', '--rm', '--pull', 'never', '--network', 'tbpod', pm.image, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    expect(again.stdout).toContain(`inet ${podNet.prefix}.`);
  });
});
