/**
 * `tbox trace SRC DEST[:PORT]`: the path a packet from container SRC takes,
 * step by step, read from the live kernel, in the article's terms; the first
 * broken link named in one line with its fix. One test packet is sent, and
 * only when DEST is a local container or the host; never outside.
 */
import fs from 'node:fs';
import { ipJson, run } from '../host/command.js';
import { NotFoundError, InvalidArgumentError, TboxError } from '../errors.js';
import { findContainer, listContainers, type ContainerRecord } from '../state/containers.js';
import { leaseOf, networkById, type LeaseRecord, type NetworkRecord } from '../state/networks.js';
import { formatIp, parseIp } from '../network/ipv4.js';
import { bridgeAddress, bridgeExists } from '../network/bridge.js';
import { chainPrefix } from '../network/firewall/firewall.js';

export interface TraceStep {
  what: string;
  detail: string;
}

export interface TraceResult {
  steps: TraceStep[];
  /** the first broken link, in one line with its fix; undefined when the path works */
  broken?: string;
}

type Dest =
  | { kind: 'container'; ip: string; c: ContainerRecord; lease: LeaseRecord; net: NetworkRecord }
  | { kind: 'host'; ip: string }
  | { kind: 'outside'; ip: string };

class Broken extends Error {}

const inNetns = (pid: number, args: string[]) => run('nsenter', [`--net=/proc/${pid}/ns/net`, ...args], { allowFailure: true });
const read = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
};

function endpointOf(c: ContainerRecord): { lease: LeaseRecord; net: NetworkRecord; pid: number } {
  const lease = leaseOf(c.id);
  const net = lease && networkById(lease.networkId);
  if (c.state !== 'running' || !c.pid) throw new TboxError(`container ${c.name} is not running`, 1);
  if (!lease || !net) throw new InvalidArgumentError(`container ${c.name} is not on a bridge network (it is on ${c.spec.network})`);
  return { lease, net, pid: c.pid };
}

function resolveDest(text: string, src: NetworkRecord): Dest {
  if (text === 'host') return { kind: 'host', ip: src.gateway };
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) {
    parseIp(text);
    for (const c of listContainers()) {
      const lease = leaseOf(c.id);
      if (lease && formatIp(lease.address) === text) return { kind: 'container', ip: text, c, lease, net: networkById(lease.networkId)! };
    }
    const local = ipJson<{ addr_info?: { local: string }[] }>(['-4', 'addr', 'show']);
    if (local.some((l) => l.addr_info?.some((a) => a.local === text))) return { kind: 'host', ip: text };
    return { kind: 'outside', ip: text };
  }
  let c: ContainerRecord;
  try {
    c = findContainer(text);
  } catch {
    throw new NotFoundError(`${text} is not a container, an IPv4 address or "host"`);
  }
  const { lease, net } = endpointOf(c);
  return { kind: 'container', ip: formatIp(lease.address), c, lease, net };
}

/** eth0 inside a container: present and up, or the broken link with its fix. */
function checkEth0(name: string, pid: number, steps: TraceStep[]): void {
  const links = ipJson<{ flags?: string[]; operstate?: string }>(['link', 'show', 'eth0'], { netns: pid });
  const up = links[0]?.flags?.includes('UP');
  steps.push({ what: `eth0 in ${name}`, detail: links.length ? `${up ? 'UP' : 'DOWN'} (${links[0]?.operstate})` : 'missing' });
  if (!up) throw new Broken(`eth0 in ${name} is DOWN: nsenter --net=/proc/${pid}/ns/net ip link set eth0 up`);
}

function firewallState() {
  const forward = run('iptables', ['-w', '-S', 'FORWARD'], { allowFailure: true }).stdout;
  return {
    policy: /^-P FORWARD (\w+)/m.exec(forward)?.[1] ?? 'ACCEPT',
    jump: forward.includes(`-j ${chainPrefix()}-FORWARD`),
    brnf: read('/proc/sys/net/bridge/bridge-nf-call-iptables'),
  };
}

/** tbox's rules with their packet counters, to see which ones a test packet matched. */
function counters(): Map<string, number> {
  const out = new Map<string, number>();
  let table = '';
  for (const line of run('iptables-save', ['-c'], { allowFailure: true }).stdout.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^\[(\d+):\d+\] (-A (\S+) .*)$/.exec(line);
    if (m && m[3]!.startsWith(chainPrefix())) out.set(`${table} ${m[2]}`, Number(m[1]));
  }
  return out;
}

function testPacket(pid: number, dest: Dest, port: number | undefined, steps: TraceStep[]): boolean {
  const before = counters();
  const probe =
    port === undefined
      ? inNetns(pid, ['ping', '-c', '1', '-W', '2', dest.ip])
      : inNetns(pid, [
          process.execPath,
          '-e',
          `const s=require("net").connect(${port},"${dest.ip}",()=>{s.destroy();process.exit(0)});s.on("error",()=>process.exit(1));setTimeout(()=>process.exit(1),2000)`,
        ]);
  const after = counters();
  const matched = [...after].filter(([rule, n]) => n > (before.get(rule) ?? 0)).map(([rule]) => rule);
  steps.push({
    what: 'test packet',
    detail: `${port === undefined ? `ping ${dest.ip}` : `TCP connect ${dest.ip}:${port}`}: ${probe.code === 0 ? 'answered' : 'no answer'}`,
  });
  for (const rule of matched) steps.push({ what: '  matched', detail: rule });
  return probe.code === 0;
}

export function trace(srcRef: string, destText: string): TraceResult {
  const [destRef, portText] = destText.includes(':') ? destText.split(':') : [destText, undefined];
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(port >= 1 && port <= 65535)) throw new InvalidArgumentError(`invalid port in ${destText}`);
  const src = findContainer(srcRef);
  const { lease, net, pid } = endpointOf(src);
  const dest = resolveDest(destRef!, net);
  const steps: TraceStep[] = [
    { what: 'from', detail: `${src.name} ${formatIp(lease.address)} on network ${net.name} (bridge ${net.bridge}, ${net.subnet})` },
    {
      what: 'to',
      detail: dest.kind === 'container' ? `${dest.c.name} ${dest.ip} on network ${dest.net.name}` : `${dest.ip} (${dest.kind})`,
    },
  ];
  try {
    checkEth0(src.name, pid, steps);
    const route = ipJson<{ gateway?: string; dev?: string }>(['route', 'get', dest.ip], { netns: pid });
    if (!route[0]) {
      steps.push({ what: `route in ${src.name}`, detail: `none to ${dest.ip}` });
      throw new Broken(`${src.name} has no default route: nsenter --net=/proc/${pid}/ns/net ip route add default via ${net.gateway}`);
    }
    const nextHop = route[0].gateway ?? dest.ip;
    steps.push({
      what: `route in ${src.name}`,
      detail: `ip route get ${dest.ip}: ${route[0].gateway ? `via ${route[0].gateway} (the default gateway) ` : 'on the subnet, '}dev ${route[0].dev}`,
    });
    const neigh = ipJson<{ lladdr?: string; state?: string[] }>(['neigh', 'show', nextHop], { netns: pid });
    steps.push({
      what: 'ARP',
      detail: neigh[0]?.lladdr
        ? `${nextHop} is at ${neigh[0].lladdr} (${neigh[0].state?.join(',')})`
        : `no entry yet: ARP will ask who-has ${nextHop}`,
    });
    if (!bridgeExists(net.bridge)) throw new Broken(`the bridge ${net.bridge} is missing: tbox system reset -f, then run again`);
    const viaGateway = Boolean(route[0].gateway) || dest.kind === 'host';
    const hasAddress = Boolean(bridgeAddress(net.bridge));
    steps.push({
      what: `bridge ${net.bridge}`,
      detail: `${read(`/sys/class/net/${net.bridge}/operstate`).toUpperCase()}, address ${hasAddress ? `${net.gateway}` : 'missing'}`,
    });
    if (viaGateway && !hasAddress) {
      throw new Broken(`the bridge's address is missing: ip addr add ${net.gateway}/${net.subnet.split('/')[1]} dev ${net.bridge}`);
    }
    steps.push({ what: 'veth pair', detail: `${src.name}'s eth0 (clink) ⇄ ${lease.hostVeth} (hlink) on ${net.bridge}` });
    const fw = firewallState();
    if (dest.kind === 'container') {
      if (dest.net.id !== net.id) {
        steps.push({ what: 'path', detail: `routed by the host from ${net.bridge} to ${dest.net.bridge}` });
        throw new Broken(
          `${src.name} and ${dest.c.name} are on isolated networks (${chainPrefix()}-ISOLATION-1 drops ${net.bridge} -> ${dest.net.bridge})`,
        );
      }
      const fdb = run('bridge', ['-j', 'fdb', 'show', 'br', net.bridge], { allowFailure: true }).stdout || '[]';
      const entry = (JSON.parse(fdb) as { mac: string; ifname?: string }[]).find((e) => e.mac === dest.lease.mac);
      steps.push({
        what: 'bridge forwarding',
        detail: entry
          ? `${dest.lease.mac} is behind ${entry.ifname}`
          : `${dest.lease.mac} not learned yet: the bridge floods the first frame`,
      });
      steps.push({ what: 'veth pair', detail: `${dest.lease.hostVeth} (hlink) ⇄ ${dest.c.name}'s eth0 (clink)` });
      checkEth0(dest.c.name, dest.c.pid!, steps);
      if (fw.brnf === '1' && fw.policy === 'DROP' && !fw.jump) {
        throw new Broken(
          `br_netfilter filters bridged traffic and FORWARD (policy DROP, no tbox accept rule) drops it: iptables -I FORWARD 1 -j ${chainPrefix()}-FORWARD`,
        );
      }
    } else if (dest.kind === 'host') {
      steps.push({ what: 'path', detail: `delivered to the host itself (INPUT) at ${dest.ip}` });
    } else {
      const forward = read('/proc/sys/net/ipv4/ip_forward') === '1';
      steps.push({ what: 'ip_forward', detail: forward ? '1: the host routes it on' : '0' });
      if (!forward) throw new Broken('ip_forward is 0: sysctl -w net.ipv4.ip_forward=1');
      if (fw.policy === 'DROP' && !fw.jump)
        throw new Broken(`FORWARD policy is DROP and no tbox accept rule: iptables -I FORWARD 1 -j ${chainPrefix()}-FORWARD`);
      const nat = run('iptables-save', ['-t', 'nat'], { allowFailure: true })
        .stdout.split('\n')
        .find((l) => l.startsWith(`-A ${chainPrefix()}-POSTROUTING -s ${net.subnet} `) && l.includes('MASQUERADE'));
      steps.push({ what: 'NAT', detail: nat ?? 'no MASQUERADE rule for the subnet' });
      if (!nat) throw new Broken(`no MASQUERADE rule for ${net.subnet}: tbox network ls re-applies tbox's rules`);
      steps.push({ what: 'outside', detail: 'leaves by the uplink with the host address; no test packet is sent outside' });
      return { steps };
    }
    const ok = testPacket(pid, dest, port, steps);
    return ok
      ? { steps }
      : { steps, broken: `no answer from ${dest.ip}${port === undefined ? '' : `:${port}`} though every link checked works` };
  } catch (err) {
    if (err instanceof Broken) return { steps, broken: err.message };
    throw err;
  }
}
