/**
 * Choosing and reserving host ports for a container's -p and -P. A fixed
 * port is reserved in SQLite first (another tbox container holds it: one
 * line naming it), then tried on the host (another process listens on it),
 * all before anything of the container starts. A port of 0 gets a free one
 * from the kernel's ephemeral range, as Docker does. The monitor then holds
 * each port bound for the container's life (src/shim/ports.c).
 */
import fs from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import { ConflictError } from '../errors.js';
import { database } from '../state/db.js';
import { portHolder, releaseBindings, reserveBindings } from '../state/ports.js';
import { hostIpOf, type PortBinding, type PortMapping } from './ports.js';

/** Whether a process on this host could bind the port now (bound, then let go at once). */
function isFreeOnHost(b: PortMapping): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (free: boolean) => () => resolve(free);
    if (b.proto === 'udp') {
      const sock = dgram.createSocket('udp4');
      sock.once('error', () => {
        sock.close();
        resolve(false);
      });
      sock.bind({ address: hostIpOf(b), port: b.hostPort, exclusive: true }, () => sock.close(done(true)));
      return;
    }
    const server = net.createServer();
    server.once('error', done(false));
    server.listen({ host: hostIpOf(b), port: b.hostPort, exclusive: true }, () => server.close(done(true)));
  });
}

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    // no procfs knob: Docker's own range
  }
  return [49153, 60999];
}

async function reserveEphemeral(containerId: string, m: PortMapping): Promise<PortBinding> {
  const [lo, hi] = ephemeralRange();
  let port = lo + Math.floor(Math.random() * (hi - lo + 1));
  for (let tries = 0; tries < 200; tries++, port = port >= hi ? lo : port + 1) {
    const b: PortBinding = { ...m, hostPort: port, containerId };
    if (portHolder(database(), b) || !(await isFreeOnHost(b))) continue;
    try {
      reserveBindings([b]);
      return b;
    } catch (err) {
      // another tbox took it between the look and the reservation
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  throw new ConflictError(`no free host port for ${m.containerPort}/${m.proto} in ${lo}-${hi}`);
}

/** Reserve every published port of a container, or none. */
export async function reservePorts(containerId: string, mappings: PortMapping[]): Promise<PortBinding[]> {
  const fixed: PortBinding[] = mappings.filter((m) => m.hostPort !== 0).map((m) => ({ ...m, containerId }));
  reserveBindings(fixed);
  try {
    for (const b of fixed) {
      if (!(await isFreeOnHost(b))) {
        throw new ConflictError(
          `Bind for ${hostIpOf(b)}:${b.hostPort}/${b.proto} failed: the port is in use on this host by another process`,
        );
      }
    }
    const chosen: PortBinding[] = [];
    for (const m of mappings.filter((x) => x.hostPort === 0)) chosen.push(await reserveEphemeral(containerId, m));
    return [...fixed, ...chosen];
  } catch (err) {
    releaseBindings(containerId);
    throw err;
  }
}
