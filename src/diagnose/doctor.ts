/**
 * `tbox doctor`: one line per check of what tbox stands on, and for each
 * failure the command that fixes it. Read-only: it changes nothing.
 */
import fs from 'node:fs';
import { run } from '../host/command.js';
import { listNetworks } from '../state/networks.js';
import { chainPrefix } from '../network/firewall/firewall.js';
import { overlappingRoute } from '../network/host-routes.js';
import { parseCidr } from '../network/ipv4.js';
import { detectMode } from '../container/cgroups/cgroup.js';
import { findLeftovers } from './leftovers.js';

export interface Check {
  ok: boolean;
  what: string;
  /** for a failed check: the command (or step) that fixes it */
  fix?: string;
}

const read = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
};

function tools(): Check[] {
  const probes: [string, string[], string][] = [
    ['ip', ['-V'], 'iproute2'],
    ['iptables', ['-V'], 'iptables'],
    ['unshare', ['--version'], 'util-linux'],
    ['nsenter', ['--version'], 'util-linux'],
  ];
  return probes.map(([cmd, args, pkg]) => {
    try {
      const r = run(cmd, args, { allowFailure: true });
      const version = (r.stdout || r.stderr).trim().split('\n')[0] ?? '';
      return { ok: r.code === 0, what: `${cmd}: ${version}`, fix: `apt-get install ${pkg}` };
    } catch {
      return { ok: false, what: `${cmd} is not installed`, fix: `apt-get install ${pkg}` };
    }
  });
}

/** The kernel's build configuration, when it publishes it (/proc/config.gz). */
function kernelConfig(): string {
  return fs.existsSync('/proc/config.gz') ? run('sh', ['-c', 'zcat /proc/config.gz'], { allowFailure: true }).stdout : '';
}

/** A kernel feature: loaded as a module, built in, or loadable. */
function hasFeature(module: string, option: string, config: string): boolean {
  if (fs.existsSync(`/sys/module/${module}`)) return true;
  if (new RegExp(`^${option}=[ym]$`, 'm').test(config)) return true;
  const release = run('uname', ['-r']).stdout.trim();
  const builtin = read(`/lib/modules/${release}/modules.builtin`) ?? '';
  return (
    builtin.split('\n').some((l) => l.endsWith(`/${module}.ko`)) ||
    (read(`/lib/modules/${release}/modules.dep`) ?? '').includes(`/${module}.ko`)
  );
}

function kernel(): Check[] {
  const filesystems = read('/proc/filesystems') ?? '';
  const config = kernelConfig();
  const mode = detectMode();
  const controllers =
    mode === 'v2'
      ? (read('/sys/fs/cgroup/cgroup.controllers') ?? '')
      : fs
          .readdirSync('/sys/fs/cgroup')
          .filter((c) => ['memory', 'cpu', 'pids', 'cpuset', 'devices'].includes(c))
          .join(' ');
  return [
    { ok: /\toverlay$/m.test(filesystems), what: 'overlay file system', fix: 'modprobe overlay' },
    { ok: hasFeature('veth', 'CONFIG_VETH', config), what: 'veth pairs', fix: 'modprobe veth' },
    { ok: hasFeature('bridge', 'CONFIG_BRIDGE', config), what: 'Linux bridges', fix: 'modprobe bridge' },
    { ok: hasFeature('nf_nat', 'CONFIG_NF_NAT', config), what: 'netfilter NAT', fix: 'modprobe nf_nat' },
    { ok: true, what: `cgroups ${mode}${mode === 'v1' ? ' (hybrid or legacy)' : ''}: ${controllers}` },
  ];
}

function forwarding(): Check[] {
  const ipForward = read('/proc/sys/net/ipv4/ip_forward') === '1';
  const brnf = read('/proc/sys/net/bridge/bridge-nf-call-iptables');
  const rules = run('iptables', ['-w', '-S', 'FORWARD'], { allowFailure: true }).stdout;
  const policy = /^-P FORWARD (\w+)/m.exec(rules)?.[1] ?? 'unknown';
  const jump = rules.includes(`-j ${chainPrefix()}-FORWARD`);
  const networks = listNetworks().length > 0;
  return [
    { ok: ipForward || !networks, what: `ip_forward is ${ipForward ? 1 : 0}`, fix: 'sysctl -w net.ipv4.ip_forward=1' },
    {
      ok: true,
      what:
        brnf === undefined
          ? 'br_netfilter is not loaded: bridged traffic skips iptables'
          : `br_netfilter: bridge-nf-call-iptables=${brnf} (bridged traffic ${brnf === '1' ? 'goes through' : 'skips'} FORWARD)`,
    },
    {
      ok: policy !== 'DROP' || jump || !networks,
      what: `FORWARD policy is ${policy}${jump ? ", and tbox's accept rules are in FORWARD" : networks ? ' and no tbox accept rule' : ''}`,
      fix: 'tbox network ls (re-applies the rules) or iptables -P FORWARD ACCEPT',
    },
  ];
}

/** Docker's, Podman's and CNI's chains, and whether tbox's jump comes first in FORWARD. */
function otherEngines(): Check[] {
  const saved = run('iptables-save', [], { allowFailure: true }).stdout;
  const found = [
    ['Docker', /^:DOCKER/m],
    ['Podman (netavark)', /^:NETAVARK/m],
    ['CNI', /^:CNI-/m],
  ].filter(([, re]) => (re as RegExp).test(saved));
  if (found.length === 0) return [{ ok: true, what: 'no Docker, Podman or CNI chains on the host' }];
  const forward = saved.split('\n').filter((l) => l.startsWith('-A FORWARD '));
  const ours = forward.findIndex((l) => l.endsWith(`-j ${chainPrefix()}-FORWARD`));
  const drops = forward.slice(0, ours < 0 ? forward.length : ours).filter((l) => / -j (DROP|REJECT)$/.test(l));
  return [
    {
      ok: drops.length === 0,
      what: `${found.map(([n]) => n).join(', ')} chains present; ${drops.length ? `a DROP in FORWARD comes before tbox's: ${drops[0]}` : "none drops before tbox's rules"}`,
      fix: `iptables -D FORWARD -j ${chainPrefix()}-FORWARD && iptables -I FORWARD 1 -j ${chainPrefix()}-FORWARD`,
    },
  ];
}

function overlaps(): Check[] {
  const nets = listNetworks();
  const own = new Set(nets.map((n) => n.bridge));
  const checks = nets.map((n) => {
    const route = overlappingRoute(parseCidr(n.subnet), own);
    return {
      ok: !route,
      what: route
        ? `network ${n.name} (${n.subnet}) overlaps the host route ${route}`
        : `network ${n.name} (${n.subnet}) overlaps no host route`,
      fix: `tbox network rm ${n.name} && tbox network create --subnet <a free subnet> ${n.name}`,
    };
  });
  return checks.length ? checks : [{ ok: true, what: 'no tbox network yet' }];
}

function leftovers(): Check[] {
  const found = findLeftovers();
  if (found.length === 0) return [{ ok: true, what: 'no leftover veth, bridge, chain, rule, mount, cgroup or state dir' }];
  return found.map((l) => ({ ok: false, what: `leftover ${l.kind} ${l.name}`, fix: `tbox system prune (or: ${l.fix})` }));
}

export function doctor(): { section: string; checks: Check[] }[] {
  return [
    { section: 'host tools', checks: tools() },
    { section: 'kernel', checks: kernel() },
    { section: 'forwarding', checks: forwarding() },
    { section: 'other engines', checks: otherEngines() },
    { section: 'subnets', checks: overlaps() },
    { section: 'leftovers', checks: leftovers() },
  ];
}
