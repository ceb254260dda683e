/** The Linux bridge a network's containers plug into, with the gateway address on it. */
import fs from 'node:fs';
import { ipBatch, run } from '../host/command.js';
import { parseCidr } from './ipv4.js';
import { dataRootTag } from '../paths.js';

export function bridgeExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}/bridge`);
}

export function createBridge(name: string, gateway: string, subnet: string): void {
  const { prefix } = parseCidr(subnet);
  ipBatch([
    `link add name ${name} type bridge`,
    // Marks the bridge as this data root's, for a reset with no database.
    `link set ${name} alias ${dataRootTag()}`,
    `addr add ${gateway}/${prefix} dev ${name}`,
    `link set ${name} up`,
  ]);
}

export function deleteBridge(name: string): void {
  if (bridgeExists(name)) run('ip', ['link', 'del', name]);
}

/** Routing between the bridge and the host's other interfaces. Docker turns it on too, and never off. */
export function enableForwarding(): void {
  const knob = '/proc/sys/net/ipv4/ip_forward';
  if (fs.readFileSync(knob, 'utf8').trim() !== '1') fs.writeFileSync(knob, '1\n');
}

/** Bridges this data root made, found by their alias: what `system reset` removes when the database cannot say. */
export function ownedBridges(): string[] {
  const links = JSON.parse(run('ip', ['-j', 'link', 'show', 'type', 'bridge']).stdout || '[]') as { ifname: string; ifalias?: string }[];
  return links.filter((l) => l.ifalias === dataRootTag()).map((l) => l.ifname);
}
