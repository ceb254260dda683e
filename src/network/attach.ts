/**
 * Plugs a container into its bridge, as the article does by hand: a veth
 * pair whose host end joins the bridge and whose other end is born inside the
 * container's netns as eth0, then an address, a default route via the
 * gateway, and both ends up. Two processes in all: one `ip -batch` on each side.
 */
import fs from 'node:fs';
import { ipBatch, run } from '../host/command.js';
import { leaseOf, networkById, type LeaseRecord, type NetworkRecord } from '../state/networks.js';
import { releaseLease } from './ipam.js';
import { formatIp, parseCidr } from './ipv4.js';

export function attachToBridge(net: NetworkRecord, lease: LeaseRecord, netnsPid: number): void {
  const { prefix } = parseCidr(net.subnet);
  try {
    ipBatch([
      `link add ${lease.hostVeth} type veth peer name eth0 address ${lease.mac} netns ${netnsPid}`,
      `link set ${lease.hostVeth} master ${net.bridge}`,
      `link set ${lease.hostVeth} up`,
    ]);
    ipBatch(
      [`addr add ${formatIp(lease.address)}/${prefix} broadcast + dev eth0`, 'link set eth0 up', `route add default via ${net.gateway}`],
      { netnsOf: netnsPid },
    );
  } catch (err) {
    removeHostVeth(lease.hostVeth);
    throw err;
  }
}

function removeHostVeth(name: string): void {
  // The kernel deletes the pair when the container's netns dies; this is for
  // a netns that is still held, or a failed attach.
  if (fs.existsSync(`/sys/class/net/${name}`)) run('ip', ['link', 'del', name], { allowFailure: true });
}

/** Give back what a container held on its network: the veth and the lease. */
export function releaseContainerNetwork(containerId: string): void {
  const lease = leaseOf(containerId);
  if (!lease) return;
  removeHostVeth(lease.hostVeth);
  releaseLease(containerId);
}

export function containerEndpoint(containerId: string): { lease: LeaseRecord; network: NetworkRecord } | undefined {
  const lease = leaseOf(containerId);
  const network = lease && networkById(lease.networkId);
  return lease && network ? { lease, network } : undefined;
}
