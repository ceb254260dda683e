import { database, type Database } from './db.js';

export interface NetworkRecord {
  id: string;
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  isDefault: boolean;
  /** IPAM's rotation cursor: where the next search for a free address starts. */
  nextAddress: number;
  createdAt: string;
  /** MASQUERADE what leaves the subnet (tbox's networks always; tbox-cni's when ipMasq) */
  masquerade: boolean;
  /** Docker's isolation: no traffic to or from other tbox bridges */
  isolated: boolean;
}

export interface LeaseRecord {
  networkId: string;
  address: number;
  containerId: string;
  hostVeth: string;
  mac: string;
  /** its interface inside the container: eth0 for the network it was run on, eth1... for connected ones */
  iface: string;
}

interface NetworkRow {
  id: string;
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  is_default: number;
  next_address: number;
  created_at: string;
  masquerade: number;
  isolated: number;
}

const fromRow = (r: NetworkRow): NetworkRecord => ({
  id: r.id,
  name: r.name,
  bridge: r.bridge,
  subnet: r.subnet,
  gateway: r.gateway,
  isDefault: r.is_default === 1,
  nextAddress: r.next_address,
  createdAt: r.created_at,
  masquerade: r.masquerade === 1,
  isolated: r.isolated === 1,
});

export function listNetworks(db: Database = database()): NetworkRecord[] {
  return (db.prepare('SELECT * FROM networks ORDER BY is_default DESC, name').all() as NetworkRow[]).map(fromRow);
}

export function networkByName(name: string, db: Database = database()): NetworkRecord | undefined {
  const row = db.prepare('SELECT * FROM networks WHERE name = ? OR id = ?').get(name, name) as NetworkRow | undefined;
  return row && fromRow(row);
}

export function networkById(id: string, db: Database = database()): NetworkRecord | undefined {
  const row = db.prepare('SELECT * FROM networks WHERE id = ?').get(id) as NetworkRow | undefined;
  return row && fromRow(row);
}

export function insertNetwork(n: NetworkRecord, db: Database = database()): void {
  db.prepare(
    `INSERT INTO networks (id, name, bridge, subnet, gateway, is_default, next_address, created_at, masquerade, isolated)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    n.id,
    n.name,
    n.bridge,
    n.subnet,
    n.gateway,
    n.isDefault ? 1 : 0,
    n.nextAddress,
    n.createdAt,
    n.masquerade ? 1 : 0,
    n.isolated ? 1 : 0,
  );
}

export function setNetworkFlags(n: Pick<NetworkRecord, 'id' | 'masquerade' | 'isolated'>, db: Database = database()): void {
  db.prepare('UPDATE networks SET masquerade = ?, isolated = ? WHERE id = ?').run(n.masquerade ? 1 : 0, n.isolated ? 1 : 0, n.id);
}

export function deleteNetwork(id: string, db: Database = database()): void {
  db.prepare('DELETE FROM networks WHERE id = ?').run(id);
}

interface LeaseRow {
  network_id: string;
  address: number;
  container_id: string;
  host_veth: string;
  mac: string;
  iface: string;
}

const leaseFromRow = (r: LeaseRow): LeaseRecord => ({
  networkId: r.network_id,
  address: r.address,
  containerId: r.container_id,
  hostVeth: r.host_veth,
  mac: r.mac,
  iface: r.iface,
});

export function leasesOf(networkId: string, db: Database = database()): LeaseRecord[] {
  return (db.prepare('SELECT * FROM leases WHERE network_id = ? ORDER BY address').all(networkId) as LeaseRow[]).map(leaseFromRow);
}

/** The lease of the network the container was run on (eth0). */
export function leaseOf(containerId: string, db: Database = database()): LeaseRecord | undefined {
  const row = db.prepare("SELECT * FROM leases WHERE container_id = ? AND iface = 'eth0'").get(containerId) as LeaseRow | undefined;
  return row && leaseFromRow(row);
}

/** Every lease of a container, eth0 first. */
export function leasesOfContainer(containerId: string, db: Database = database()): LeaseRecord[] {
  return (db.prepare('SELECT * FROM leases WHERE container_id = ? ORDER BY iface').all(containerId) as LeaseRow[]).map(leaseFromRow);
}

export function countLeases(networkId: string, db: Database = database()): number {
  return (db.prepare('SELECT count(*) AS n FROM leases WHERE network_id = ?').get(networkId) as { n: number }).n;
}
