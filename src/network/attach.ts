/**
 * Plugs a container into its bridge, as the article does by hand: a veth
 * pair whose host end joins the bridge and whose other end is born inside the
 * container's netns as eth0, then an address, a default route via the
 * gateway, and both ends up. Two processes in all: one `ip -batch` on each side.
 */
import fs from 'node:fs';
import { ipBatch, run, type NetnsRef } from '../host/command.js';
import { InvalidArgumentError, teardown } from '../errors.js';
import { leaseOf, leasesOfContainer, networkById, type LeaseRecord, type NetworkRecord } from '../state/networks.js';
import { ANY_ADDRESS, bindingsOf, releaseBindings } from '../state/ports.js';
import { releaseLease } from './ipam.js';
import { formatIp, parseCidr } from './ipv4.js';
import { firewall } from './firewall/firewall.js';
import { refreshNetworkHosts } from './hosts.js';

/** A netns file (what a CNI runtime hands over); ip(8) takes a path with a slash after `netns` as well as a pid. */
const NETNS_PATH = /^\/[A-Za-z0-9._/-]+$/;

/**
 * hairpin: the bridge may send a frame back out the port it came in by, which
 * a container reaching its own published port through the host needs.
 * defaultRoute: via the gateway; by default only for eth0, the first network.
 */
export function attachToBridge(
  net: NetworkRecord,
  lease: LeaseRecord,
  netns: NetnsRef,
  opts: { hairpin: boolean; defaultRoute?: boolean },
): void {
  // the path ends up in an `ip -batch` line: nothing in it may start another word or line
  if (typeof netns === 'string' && !NETNS_PATH.test(netns)) throw new InvalidArgumentError(`invalid netns path ${JSON.stringify(netns)}`);
  const { prefix } = parseCidr(net.subnet);
  const dev = lease.iface;
  try {
    ipBatch([
      `link add ${lease.hostVeth} type veth peer name ${dev} address ${lease.mac} netns ${netns}`,
      `link set ${lease.hostVeth} master ${net.bridge}`,
      ...(opts.hairpin ? [`link set ${lease.hostVeth} type bridge_slave hairpin on`] : []),
      `link set ${lease.hostVeth} up`,
    ]);
    ipBatch(
      [
        `addr add ${formatIp(lease.address)}/${prefix} broadcast + dev ${dev}`,
        `link set ${dev} up`,
        // the default route is the first network's; a connected one adds its subnet only
        ...((opts.defaultRoute ?? dev === 'eth0') ? [`route add default via ${net.gateway}`] : []),
      ],
      { netns },
    );
  } catch (err) {
    removeHostVeth(lease.hostVeth);
    throw err;
  }
}

export function removeHostVeth(name: string): void {
  // The kernel deletes the pair when the container's netns dies; this is for
  // a netns that is still held, or a failed attach.
  if (fs.existsSync(`/sys/class/net/${name}`)) run('ip', ['link', 'del', name], { allowFailure: true });
}

/**
 * Give back what a container held on its network: its published ports (rules
 * first, then the reservation, so a rule is never left unrecorded), the veth
 * and the lease. Every step runs; all failures are reported.
 */
export function releaseContainerNetwork(containerId: string): void {
  const lease = leaseOf(containerId);
  const ports = bindingsOf(containerId);
  teardown([
    ...(ports.length
      ? [
          () => {
            const network = lease && networkById(lease.networkId);
            const containerIp = lease ? formatIp(lease.address) : ANY_ADDRESS;
            firewall().teardownPortForward({ containerId, containerIp, bridge: network?.bridge ?? '', ports });
            releaseBindings(containerId);
          },
        ]
      : []),
    ...leasesOfContainer(containerId).flatMap((l) => [() => detachLease(l)]),
  ]);
}

/** One network's veth and lease; its name stops resolving for the peers there. */
export function detachLease(lease: LeaseRecord): void {
  teardown([
    () => removeHostVeth(lease.hostVeth),
    () => {
      releaseLease(lease.containerId, lease.networkId);
      refreshNetworkHosts(lease.networkId);
    },
  ]);
}

export function containerEndpoint(containerId: string): { lease: LeaseRecord; network: NetworkRecord } | undefined {
  const lease = leaseOf(containerId);
  const network = lease && networkById(lease.networkId);
  return lease && network ? { lease, network } : undefined;
}
