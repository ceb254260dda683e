/**
 * tbox's bridge network as a CNI plugin: ADD, DEL and CHECK on the same code
 * `tbox run` uses. The network is a row in the IPAM database of the config's
 * dataDir (made on first ADD with its bridge and firewall rules), an address
 * is a lease keyed by (CNI_CONTAINERID, network) with CNI_IFNAME as its
 * interface, and the veth is plugged by attachToBridge into CNI_NETNS.
 */
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { ipJson } from '../host/command.js';
import { attachToBridge, detachLease } from '../network/attach.js';
import { ensureNetwork } from '../network/networks.js';
import { leaseAddress } from '../network/ipam.js';
import { formatIp, parseCidr } from '../network/ipv4.js';
import { leasesOfContainer, networkByName, type LeaseRecord, type NetworkRecord } from '../state/networks.js';
import { CNI_CODES, CniError, type CniRequest } from './request.js';
import { cniResult, type CniResult } from './result.js';

/** The veth's host end: tc + 11 hex of the lease's key, unique per (container, interface, network). */
const hostVethOf = (req: CniRequest) =>
  `tc${createHash('sha256').update(`${req.containerId}/${req.ifname}/${req.config.name}`).digest('hex').slice(0, 11)}`;

const leaseOfRequest = (req: CniRequest, net: NetworkRecord): LeaseRecord | undefined =>
  leasesOfContainer(req.containerId).find((l) => l.networkId === net.id && l.iface === req.ifname);

const macOf = (iface: string) => {
  try {
    return fs.readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

function networkOf(req: CniRequest): NetworkRecord {
  const c = req.config;
  return ensureNetwork({
    name: c.name,
    bridge: c.bridge,
    subnet: c.subnet,
    gateway: c.gateway,
    masquerade: c.ipMasq,
    isolated: c.isolation,
  });
}

function resultOf(req: CniRequest, net: NetworkRecord, lease: LeaseRecord): CniResult {
  return cniResult(req.config.cniVersion, {
    bridge: { name: net.bridge, mac: macOf(net.bridge) },
    hostVeth: { name: lease.hostVeth, mac: macOf(lease.hostVeth) },
    container: { name: req.ifname, mac: lease.mac, sandbox: req.netns! },
    address: `${formatIp(lease.address)}/${parseCidr(net.subnet).prefix}`,
    gateway: net.gateway,
  });
}

export function add(req: CniRequest): CniResult {
  const net = networkOf(req);
  if (leaseOfRequest(req, net)) {
    throw new CniError(
      CNI_CODES.invalidEnvironment,
      `container ${req.containerId} already has ${req.ifname} on network ${net.name}: DEL it first`,
    );
  }
  const lease = leaseAddress(net.id, req.containerId, { iface: req.ifname, hostVeth: hostVethOf(req) });
  try {
    attachToBridge(net, lease, req.netns!, { hairpin: false, defaultRoute: true });
  } catch (err) {
    detachLease(lease);
    throw err;
  }
  return resultOf(req, net, lease);
}

/** Everything ADD made for this container on this network; nothing to do is success (the spec's idempotent DEL). */
export function del(req: CniRequest): void {
  const net = networkByName(req.config.name);
  const lease = net && leaseOfRequest(req, net);
  if (lease) detachLease(lease);
}

/** ADD's work, still in place: the host end on the bridge, the address and the default route inside. */
export function check(req: CniRequest): void {
  const net = networkByName(req.config.name);
  const lease = net && leaseOfRequest(req, net);
  if (!net || !lease)
    throw new CniError(CNI_CODES.unknownContainer, `container ${req.containerId} has no ${req.ifname} on network ${req.config.name}`);
  const failed = (what: string) => new CniError(CNI_CODES.checkFailed, `${what} (container ${req.containerId}, network ${net.name})`);
  const [host] = ipJson<{ master?: string }>(['link', 'show', 'dev', lease.hostVeth]);
  if (!host) throw failed(`the host end ${lease.hostVeth} is gone`);
  if (host.master !== net.bridge) throw failed(`${lease.hostVeth} is not on bridge ${net.bridge}`);
  const [inside] = ipJson<{ address?: string; addr_info?: { family: string; local: string; prefixlen: number }[] }>(
    ['addr', 'show', 'dev', req.ifname],
    { netns: req.netns! },
  );
  if (!inside) throw failed(`${req.ifname} is missing in ${req.netns}`);
  if (inside.address !== lease.mac) throw failed(`${req.ifname} has MAC ${inside.address}, not ${lease.mac}`);
  const want = { local: formatIp(lease.address), prefixlen: parseCidr(net.subnet).prefix };
  if (!inside.addr_info?.some((a) => a.family === 'inet' && a.local === want.local && a.prefixlen === want.prefixlen)) {
    throw failed(`${req.ifname} lacks ${want.local}/${want.prefixlen}`);
  }
  const routes = ipJson<{ dst: string; gateway?: string; dev?: string }>(['route', 'show', 'default'], { netns: req.netns! });
  if (!routes.some((r) => r.gateway === net.gateway && r.dev === req.ifname))
    throw failed(`no default route via ${net.gateway} on ${req.ifname}`);
}
