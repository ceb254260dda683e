/** What `network ls` and `network inspect` show, built-in modes included. */
import { listNetworks, leasesOf, type NetworkRecord } from '../state/networks.js';
import { getContainer } from '../state/containers.js';
import { ensureDefaultNetwork, resolveNetwork } from './networks.js';
import { formatIp } from './ipv4.js';

export interface NetworkView {
  ID: string;
  Name: string;
  Driver: string;
  Subnet: string;
  Gateway: string;
  Bridge: string;
  Containers: number;
}

const builtin = (name: 'host' | 'none'): NetworkView => ({
  ID: name,
  Name: name,
  Driver: name === 'host' ? 'host' : 'null',
  Subnet: '',
  Gateway: '',
  Bridge: '',
  Containers: 0,
});

const view = (n: NetworkRecord): NetworkView => ({
  ID: n.id.slice(0, 12),
  Name: n.name,
  Driver: 'bridge',
  Subnet: n.subnet,
  Gateway: n.gateway,
  Bridge: n.bridge,
  Containers: leasesOf(n.id).length,
});

export function listNetworkViews(): NetworkView[] {
  ensureDefaultNetwork();
  const nets = listNetworks();
  return [...nets.filter((n) => n.isDefault).map(view), builtin('host'), builtin('none'), ...nets.filter((n) => !n.isDefault).map(view)];
}

/** The `docker network inspect` shape. */
export function inspectNetwork(name: string) {
  if (name === 'host' || name === 'none') {
    return { Name: name, Id: name, Driver: builtin(name).Driver, IPAM: { Config: [] }, Containers: {} };
  }
  const net = resolveNetwork(name)!;
  const containers = Object.fromEntries(
    leasesOf(net.id).map((l) => [
      l.containerId,
      {
        Name: getContainer(l.containerId)?.name ?? '',
        IPv4Address: `${formatIp(l.address)}/${net.subnet.split('/')[1]}`,
        MacAddress: l.mac,
        HostVeth: l.hostVeth,
      },
    ]),
  );
  return {
    Name: net.name,
    Id: net.id,
    Created: net.createdAt,
    Driver: 'bridge',
    IPAM: { Driver: 'default', Config: [{ Subnet: net.subnet, Gateway: net.gateway }] },
    Options: { 'com.docker.network.bridge.name': net.bridge },
    Bridge: net.bridge,
    Subnet: net.subnet,
    Gateway: net.gateway,
    Containers: containers,
  };
}
