/**
 * Names between containers on a user network, kept daemonless: every member's
 * /etc/hosts lists the others (name, --network-alias, short id), and tbox
 * rewrites those files whenever a member starts or stops. The files are the
 * ones bind-mounted into the containers, so they are rewritten in place (same
 * inode): a new file renamed over them would stay invisible inside. The
 * default `bridge` network does not do this, as in Docker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { write } from '../state/db.js';
import { getContainer, type ContainerRecord } from '../state/containers.js';
import { leasesOf, leasesOfContainer, networkById, type NetworkRecord } from '../state/networks.js';
import { containerDir } from '../paths.js';
import { formatIp } from './ipv4.js';

export interface HostsEntry {
  ip: string;
  names: string[];
}

const STANDARD = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

const line = (e: HostsEntry) => `${e.ip}\t${e.names.join(' ')}`;

/** A container's /etc/hosts: the standard lines, itself, --add-host, then its peers. */
export function hostsText(c: ContainerRecord, ip: string | undefined, gateway: string | undefined, peers: HostsEntry[]): string {
  const { hostname } = c.spec;
  const own = ip ? [line({ ip, names: hostname === c.name ? [hostname] : [hostname, c.name] })] : [];
  const extra = (c.spec.extraHosts ?? []).map((h) => {
    const at = h.indexOf(':');
    const target = h.slice(at + 1);
    return line({ ip: target === 'host-gateway' ? (gateway ?? '127.0.0.1') : target, names: [h.slice(0, at)] });
  });
  return [...STANDARD, ...own, ...extra, ...peers.map(line)].join('\n') + '\n';
}

/** Rewrite a bind-mounted file without replacing its inode; a file that is gone (its container removed) stays gone. */
export function rewriteInPlace(file: string, text: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const bytes = Buffer.from(text);
    fs.writeSync(fd, bytes, 0, bytes.length, 0);
    fs.ftruncateSync(fd, bytes.length);
  } finally {
    fs.closeSync(fd);
  }
}

/** A peer's names on one network: its name, its aliases there (--network-alias, or connect --alias), its short id. */
function peerEntry(c: ContainerRecord, ip: string, net: NetworkRecord): HostsEntry {
  const primary = c.spec.network === net.name || c.spec.network === net.id;
  const aliases = primary ? (c.spec.aliases ?? []) : (c.spec.connections?.find((x) => x.network === net.name)?.aliases ?? []);
  return { ip, names: [c.name, ...aliases, c.id.slice(0, 12)] };
}

/**
 * Every member's /etc/hosts on this network, from the leases as they are now:
 * a member on several user networks lists its peers on each. Under the
 * database's write lock, so two starts at once cannot leave a file written
 * from the older view.
 */
export function refreshNetworkHosts(networkId: string): void {
  // The default network keeps no names: no write lock on the path of every bridge run.
  if (networkById(networkId)?.isDefault !== false) return;
  write((db) => {
    const net = networkById(networkId, db);
    if (!net || net.isDefault) return;
    for (const member of leasesOf(net.id, db)) {
      const c = getContainer(member.containerId);
      if (!c) continue;
      const own = leasesOfContainer(c.id, db);
      const peers = own.flatMap((mine) => {
        const n = networkById(mine.networkId, db);
        if (!n || n.isDefault) return [];
        return leasesOf(n.id, db).flatMap((l) => {
          const peer = l.containerId === c.id ? undefined : getContainer(l.containerId);
          return peer ? [peerEntry(peer, formatIp(l.address), n)] : [];
        });
      });
      const first = own[0] ?? member;
      rewriteInPlace(
        path.join(containerDir(c.id), 'hosts'),
        hostsText(c, formatIp(first.address), networkById(first.networkId, db)?.gateway, peers),
      );
    }
  });
}
