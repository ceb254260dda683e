/**
 * Host ports held by running containers. A reservation runs in one write
 * transaction (as an IPAM lease does), so of two `run -p 8080:80` at once
 * exactly one wins. 0.0.0.0 means every address, so it clashes with any
 * other address on the same port and protocol.
 */
import { database, write, type Database } from './db.js';
import { ConflictError } from '../errors.js';
export type PortProto = 'tcp' | 'udp';

/** One published port, as asked for: hostPort 0 is "any free port", hostIp '' is every address. */
export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: PortProto;
}

/** A mapping with its host port chosen and reserved: what the firewall forwards while the container runs. */
export interface PortBinding extends PortMapping {
  containerId: string;
}

/** Every host address. */
export const ANY_ADDRESS = '0.0.0.0';

export const hostIpOf = (m: Pick<PortMapping, 'hostIp'>) => m.hostIp || ANY_ADDRESS;

interface Row {
  container_id: string;
  proto: PortProto;
  host_ip: string;
  host_port: number;
  container_port: number;
}

const fromRow = (r: Row): PortBinding => ({
  containerId: r.container_id,
  proto: r.proto,
  hostIp: r.host_ip,
  hostPort: r.host_port,
  containerPort: r.container_port,
});

/** Who holds this host port (on any address that overlaps), if anyone. */
export function portHolder(db: Database, b: Pick<PortBinding, 'proto' | 'hostIp' | 'hostPort'>): string | undefined {
  const ip = hostIpOf(b);
  return db
    .prepare('SELECT container_id FROM port_bindings WHERE proto = ? AND host_port = ? AND (host_ip = ? OR host_ip = ? OR ? = ?)')
    .pluck()
    .get(b.proto, b.hostPort, ip, ANY_ADDRESS, ip, ANY_ADDRESS) as string | undefined;
}

/** Reserve every binding or none; a clash names the container that holds the port. */
export function reserveBindings(bindings: PortBinding[]): void {
  write((db) => {
    for (const b of bindings) {
      const holder = portHolder(db, b);
      if (holder) {
        throw new ConflictError(
          `Bind for ${hostIpOf(b)}:${b.hostPort}/${b.proto} failed: port is already allocated (by container ${holder.slice(0, 12)})`,
        );
      }
      db.prepare('INSERT INTO port_bindings (container_id, proto, host_ip, host_port, container_port) VALUES (?, ?, ?, ?, ?)').run(
        b.containerId,
        b.proto,
        hostIpOf(b),
        b.hostPort,
        b.containerPort,
      );
    }
  });
}

export function bindingsOf(containerId: string, db: Database = database()): PortBinding[] {
  return (db.prepare('SELECT * FROM port_bindings WHERE container_id = ? ORDER BY proto, container_port').all(containerId) as Row[]).map(
    fromRow,
  );
}

export function allBindings(db: Database = database()): PortBinding[] {
  return (db.prepare('SELECT * FROM port_bindings').all() as Row[]).map(fromRow);
}

export function releaseBindings(containerId: string): void {
  write((db) => db.prepare('DELETE FROM port_bindings WHERE container_id = ?').run(containerId));
}
