/**
 * What this data root left on the host with no container to own it: veths
 * on its bridges with no lease, its bridges with no network, its chains with
 * no network, port rules of containers that hold no port, mounts under its
 * state dir, cgroups and state dirs of containers that are not running (or
 * not there). `tbox doctor` lists them; `tbox system prune` removes them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ipJson, run, removeKernelDir } from '../host/command.js';
import { containerDir, stateDir } from '../paths.js';
import { listContainers } from '../state/containers.js';
import { listNetworks, leasesOfContainer } from '../state/networks.js';
import { allBindings } from '../state/ports.js';
import { deleteBridge, ownedBridges } from '../network/bridge.js';
import { chainPrefix, firewall } from '../network/firewall/firewall.js';
import { cgroupParentDirs } from '../container/cgroups/cgroup.js';

export interface Leftover {
  kind: 'veth' | 'bridge' | 'chain' | 'rule' | 'mount' | 'cgroup' | 'state dir';
  name: string;
  /** the command that removes it */
  fix: string;
}

function linksWithMaster(): { ifname: string; master?: string }[] {
  return ipJson<{ ifname: string; master?: string }>(['link', 'show', 'type', 'veth']);
}

/** Container ids with a cgroup directory under tbox's parent, in every hierarchy. */
function cgroupDirs(): string[] {
  return cgroupParentDirs().flatMap((p) => {
    try {
      return fs
        .readdirSync(p, { withFileTypes: true })
        .filter((e) => e.isDirectory() && /^[0-9a-f]{32}$/.test(e.name))
        .map((e) => path.join(p, e.name));
    } catch {
      return [];
    }
  });
}

export function findLeftovers(): Leftover[] {
  const containers = new Map(listContainers().map((c) => [c.id, c]));
  const running = (id: string) => containers.get(id)?.state === 'running';
  const networks = listNetworks();
  const bridges = ownedBridges();
  const out: Leftover[] = [];
  for (const l of linksWithMaster()) {
    if (!l.master || !bridges.includes(l.master) || !/^tb[0-9a-f]{10}(n\d+)?$/.test(l.ifname)) continue;
    const owner = [...containers.keys()].find((id) => l.ifname.startsWith(`tb${id.slice(0, 10)}`));
    if (!owner || !leasesOfContainer(owner).some((x) => x.hostVeth === l.ifname))
      out.push({ kind: 'veth', name: l.ifname, fix: `ip link del ${l.ifname}` });
  }
  for (const b of bridges) {
    if (!networks.some((n) => n.bridge === b)) out.push({ kind: 'bridge', name: b, fix: `ip link del ${b}` });
  }
  const saved = run('iptables-save', [], { allowFailure: true }).stdout.split('\n');
  if (networks.length === 0) {
    for (const l of saved.filter((x) => x.startsWith(`:${chainPrefix()}-`))) {
      const chain = l.slice(1).split(' ')[0]!;
      out.push({ kind: 'chain', name: chain, fix: `iptables -F ${chain} && iptables -X ${chain}` });
    }
  }
  const holders = new Set(allBindings().map((b) => b.containerId.slice(0, 12)));
  for (const l of saved) {
    const m = /--comment "?tbox:([0-9a-f]{12})"?/.exec(l);
    if (m && l.startsWith(`-A ${chainPrefix()}-`) && !holders.has(m[1]!))
      out.push({ kind: 'rule', name: l, fix: `iptables -D${l.slice(2)}` });
  }
  const prefix = containerDir('');
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const point = line.split(' ')[4];
    if (point?.startsWith(prefix)) out.push({ kind: 'mount', name: point, fix: `umount -l ${point}` });
  }
  for (const dir of cgroupDirs()) {
    if (!running(path.basename(dir))) out.push({ kind: 'cgroup', name: dir, fix: `rmdir ${dir}` });
  }
  const states = path.join(stateDir(), 'containers');
  for (const id of fs.existsSync(states) ? fs.readdirSync(states) : []) {
    if (!containers.has(id)) out.push({ kind: 'state dir', name: containerDir(id), fix: `rm -rf ${containerDir(id)}` });
  }
  return out;
}

/** Remove each leftover; every one is tried, and what failed is returned. */
export function removeLeftovers(leftovers: Leftover[]): { removed: Leftover[]; failed: { leftover: Leftover; error: string }[] } {
  const removed: Leftover[] = [];
  const failed: { leftover: Leftover; error: string }[] = [];
  const rules = leftovers.filter((l) => l.kind === 'rule');
  for (const l of leftovers) {
    try {
      if (l.kind === 'veth') run('ip', ['link', 'del', l.name]);
      else if (l.kind === 'bridge') deleteBridge(l.name);
      else if (l.kind === 'mount') run('umount', ['-l', l.name]);
      else if (l.kind === 'cgroup') removeKernelDir(l.name, 100);
      else if (l.kind === 'state dir') fs.rmSync(l.name, { recursive: true, force: true });
      else continue;
      removed.push(l);
    } catch (err) {
      failed.push({ leftover: l, error: (err as Error).message });
    }
  }
  // Rules and chains through the firewall backend: by the container's mark, and every chain when no network is left.
  for (const id of new Set(rules.map((r) => /tbox:([0-9a-f]{12})/.exec(r.name)![1]!))) {
    firewall().teardownPortForward({ containerId: id, containerIp: '0.0.0.0', bridge: '', ports: [] });
  }
  removed.push(...rules);
  const chains = leftovers.filter((l) => l.kind === 'chain');
  if (chains.length && listNetworks().length === 0) {
    firewall().apply([]);
    removed.push(...chains);
  }
  return { removed, failed };
}
