/**
 * IPAM: addresses for containers, leased in SQLite. Each allocation runs in
 * one BEGIN IMMEDIATE transaction, and UNIQUE (network, address) backs it up,
 * so concurrent `tbox run`s never share an address. The search starts at a
 * rotating cursor, so a just-freed address is not handed out again at once.
 */
import { write, type Database } from '../state/db.js';
import { networkById, type LeaseRecord } from '../state/networks.js';
import { ConflictError, InvalidArgumentError, TboxError } from '../errors.js';
import { broadcast, contains, formatIp, macFor, parseCidr, parseIp } from './ipv4.js';

/** The host end of a container's veth: tb<id> for eth0, tb<id>n<k> for eth<k> (15 characters at most). */
export const hostVethName = (containerId: string, iface = 'eth0') =>
  `tb${containerId.slice(0, 10)}${iface === 'eth0' ? '' : `n${iface.slice(3)}`}`;

/** First free address in [lo, hi], skipping the gateway. */
function firstFree(db: Database, networkId: string, lo: number, hi: number, gateway: number): number | undefined {
  const skipGateway = (a: number) => (a === gateway ? a + 1 : a);
  let candidate = skipGateway(lo);
  const taken = db
    .prepare('SELECT address FROM leases WHERE network_id = ? AND address BETWEEN ? AND ? ORDER BY address')
    .pluck()
    .iterate(networkId, lo, hi) as IterableIterator<number>;
  for (const address of taken) {
    if (candidate > hi || address > candidate) break;
    if (address === candidate) candidate = skipGateway(candidate + 1);
  }
  return candidate <= hi ? candidate : undefined;
}

export interface LeaseOptions {
  /** --ip: this address or none */
  requested?: string;
  /** the interface inside the container (eth0 unless connected later) */
  iface?: string;
  /** the veth's host end; tbox's own containers get hostVethName's */
  hostVeth?: string;
}

export function leaseAddress(networkId: string, containerId: string, opts: LeaseOptions = {}): LeaseRecord {
  const { requested, iface = 'eth0' } = opts;
  return write((db) => {
    const net = networkById(networkId, db);
    if (!net) throw new TboxError(`network ${networkId} disappeared`);
    const subnet = parseCidr(net.subnet);
    const gateway = parseIp(net.gateway);
    // Never the network address, never the broadcast address.
    const first = subnet.base + 1;
    const last = broadcast(subnet) - 1;
    let address: number | undefined;
    if (requested !== undefined) {
      address = parseIp(requested);
      if (!contains(subnet, address) || address < first || address > last || address === gateway) {
        throw new InvalidArgumentError(
          `--ip ${requested} is not a usable address in network ${net.name} (${net.subnet}, gateway ${net.gateway})`,
        );
      }
      const holder = db.prepare('SELECT container_id FROM leases WHERE network_id = ? AND address = ?').pluck().get(net.id, address);
      if (holder) throw new ConflictError(`--ip ${requested} is already in use by container ${String(holder).slice(0, 12)}`);
    } else {
      const start = Math.min(Math.max(net.nextAddress, first), last);
      address = firstFree(db, net.id, start, last, gateway) ?? firstFree(db, net.id, first, start - 1, gateway);
      if (address === undefined) {
        throw new ConflictError(`no free address in network ${net.name}: ${net.subnet} is full`);
      }
    }
    const held = db.prepare('SELECT 1 FROM leases WHERE container_id = ? AND network_id = ?').get(containerId, net.id);
    if (held) throw new ConflictError(`endpoint with name ${containerId.slice(0, 12)} already exists in network ${net.name}`);
    const hostVeth = opts.hostVeth ?? hostVethName(containerId, iface);
    const lease: LeaseRecord = { networkId: net.id, address, containerId, hostVeth, mac: macFor(address), iface };
    db.prepare('INSERT INTO leases (network_id, address, container_id, host_veth, mac, iface) VALUES (?, ?, ?, ?, ?, ?)').run(
      lease.networkId,
      lease.address,
      lease.containerId,
      lease.hostVeth,
      lease.mac,
      lease.iface,
    );
    db.prepare('UPDATE networks SET next_address = ? WHERE id = ?').run(address + 1 > last ? first : address + 1, net.id);
    return lease;
  });
}

/** Give back a container's lease on one network, or on all. */
export function releaseLease(containerId: string, networkId?: string): void {
  write((db) =>
    networkId === undefined
      ? db.prepare('DELETE FROM leases WHERE container_id = ?').run(containerId)
      : db.prepare('DELETE FROM leases WHERE container_id = ? AND network_id = ?').run(containerId, networkId),
  );
}

export const leaseIp = (l: LeaseRecord) => formatIp(l.address);
