/**
 * `tbox network connect|disconnect`: a running container gets one more
 * interface (eth1, eth2, ...) on another bridge network, with a lease, its
 * own veth and its name in the peers' /etc/hosts there; a stopped one gets
 * it at its next start. The first network (eth0) keeps the default route.
 */
import { ConflictError, InvalidArgumentError, NotFoundError, UndoStack } from '../errors.js';
import { findContainer, updateSpec, type ContainerConnection, type ContainerRecord } from '../state/containers.js';
import { leasesOfContainer, type NetworkRecord } from '../state/networks.js';
import { resolveNetwork } from '../network/networks.js';
import { leaseAddress } from '../network/ipam.js';
import { attachToBridge, detachLease } from '../network/attach.js';
import { refreshNetworkHosts } from '../network/hosts.js';
import { isRunning, reconcile } from './reconcile.js';

/** The next free ethN inside the container. */
function nextIface(containerId: string): string {
  const used = new Set(leasesOfContainer(containerId).map((l) => l.iface));
  let n = 1;
  while (used.has(`eth${n}`)) n++;
  return `eth${n}`;
}

/** Lease, veth and names for one connection of a running container (undone if any step fails). */
export function attachConnection(c: ContainerRecord, net: NetworkRecord, conn: ContainerConnection): void {
  const undo = new UndoStack();
  try {
    const lease = leaseAddress(net.id, c.id, { requested: conn.ip, iface: nextIface(c.id) });
    undo.push(() => detachLease(lease));
    attachToBridge(net, lease, c.pid!, { hairpin: false });
    refreshNetworkHosts(net.id);
    undo.clear();
  } catch (err) {
    undo.unwind(err);
  }
}

/** At each start: the connected networks after eth0. */
export function attachConnections(c: ContainerRecord): void {
  for (const conn of c.spec.connections ?? []) {
    let net: NetworkRecord | undefined;
    try {
      net = resolveNetwork(conn.network);
    } catch (err) {
      // removed while the container was stopped: it starts without it, as Docker's does
      if (!(err instanceof NotFoundError)) throw err;
      process.stderr.write(`WARNING: network ${conn.network} of container ${c.name} is gone: not connected\n`);
    }
    if (net) attachConnection(c, net, conn);
  }
}

function bridgeNetwork(name: string): NetworkRecord {
  const net = resolveNetwork(name);
  if (!net) throw new InvalidArgumentError(`container cannot be connected to the ${name} network: only bridge networks`);
  return net;
}

export function connectContainer(ref: string, network: string, opts: { ip?: string; aliases: string[] }): void {
  reconcile();
  const c = findContainer(ref);
  const net = bridgeNetwork(network);
  if (c.spec.network === 'host' || c.spec.network === 'none') {
    throw new ConflictError(`container ${c.name} runs on the ${c.spec.network} network: it cannot be connected to another`);
  }
  const joined = [c.spec.network, ...(c.spec.connections ?? []).map((x) => x.network)];
  if (joined.some((n) => resolveNetwork(n)?.id === net.id)) {
    throw new ConflictError(`endpoint with name ${c.name} already exists in network ${net.name}`);
  }
  if (opts.aliases.length && net.isDefault)
    throw new InvalidArgumentError('network-scoped alias is supported only for user defined networks');
  const conn: ContainerConnection = { network: net.name, ...(opts.ip ? { ip: opts.ip } : {}), aliases: opts.aliases };
  const withConn = { ...c, spec: { ...c.spec, connections: [...(c.spec.connections ?? []), conn] } };
  // the spec first: the peers' /etc/hosts read the new aliases from it
  updateSpec(c.id, { connections: withConn.spec.connections });
  if (!isRunning(c) || !c.pid) return;
  try {
    attachConnection(withConn, net, conn);
  } catch (err) {
    updateSpec(c.id, { connections: c.spec.connections ?? [] });
    throw err;
  }
}

export function disconnectContainer(ref: string, network: string): void {
  reconcile();
  const c = findContainer(ref);
  const net = bridgeNetwork(network);
  const isPrimary = resolveNetwork(c.spec.network)?.id === net.id;
  if (isPrimary) throw new ConflictError(`container ${c.name} was run on ${net.name}: tbox cannot take its first network (eth0) away`);
  const conn = (c.spec.connections ?? []).find((x) => resolveNetwork(x.network)?.id === net.id);
  if (!conn) throw new NotFoundError(`container ${c.name} is not connected to network ${net.name}`);
  const lease = leasesOfContainer(c.id).find((l) => l.networkId === net.id);
  if (lease) detachLease(lease);
  updateSpec(c.id, { connections: (c.spec.connections ?? []).filter((x) => x !== conn) });
}
