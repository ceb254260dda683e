/**
 * The Linux bridge a network's containers plug into, with the gateway address
 * on it. A bridge belongs to the host, not to a data root, so each bridge tbox
 * makes carries its owner in its alias (`ip link` shows it): "tbox:<hash>
 * <data root>". That is how a root tells its own bridge (one it made before
 * its database was wiped, say) from another root's, and both from a bridge
 * tbox never made, which it never touches.
 */
import fs from 'node:fs';
import { ipBatch, ipJson, run, writeKernelFile } from '../host/command.js';
import { cidrOf, formatCidr, parseIp } from './ipv4.js';
import { dataRoot, dataRootTag } from '../paths.js';

export function bridgeExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}/bridge`);
}

export type BridgeOwner =
  | { kind: 'absent' }
  | { kind: 'this root' }
  | { kind: 'another root'; root: string }
  /** a bridge with no alias at all: tbox's own from before bridges were marked, if this root's database names it */
  | { kind: 'unmarked' }
  /** a bridge (or another link) tbox did not make */
  | { kind: 'not tbox' };

const OWNER_ALIAS = /^(tbox:[0-9a-f]{12})(?: (.*))?$/;

export function bridgeOwner(name: string): BridgeOwner {
  if (!fs.existsSync(`/sys/class/net/${name}`)) return { kind: 'absent' };
  if (!bridgeExists(name)) return { kind: 'not tbox' };
  let alias = '';
  try {
    alias = fs.readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim();
  } catch {
    // no alias file: not ours
  }
  if (alias === '') return { kind: 'unmarked' };
  const m = OWNER_ALIAS.exec(alias);
  if (!m) return { kind: 'not tbox' };
  return m[1] === dataRootTag() ? { kind: 'this root' } : { kind: 'another root', root: m[2] || m[1]! };
}

export function createBridge(name: string, gateway: string, subnet: string): void {
  const prefix = subnet.split('/')[1];
  ipBatch([`link add name ${name} type bridge`, `addr add ${gateway}/${prefix} dev ${name}`, `link set ${name} up`]);
  markBridge(name);
}

/** Name this data root as the bridge's owner. Written as a file: the root's path may hold what ip's batch parser would split. */
export function markBridge(name: string): void {
  writeKernelFile(`/sys/class/net/${name}/ifalias`, `${dataRootTag()} ${dataRoot()}`.slice(0, 255));
}

/** The gateway address and subnet a bridge really has, to adopt it as it is. */
export function bridgeAddress(name: string): { gateway: string; subnet: string } | undefined {
  const links = ipJson<{ addr_info?: { local: string; prefixlen: number }[] }>(['-4', 'addr', 'show', 'dev', name]);
  const addr = links[0]?.addr_info?.[0];
  return addr && { gateway: addr.local, subnet: formatCidr(cidrOf(parseIp(addr.local), addr.prefixlen)) };
}

export function deleteBridge(name: string): void {
  if (bridgeExists(name)) run('ip', ['link', 'del', name]);
}

/** Routing between the bridge and the host's other interfaces. Docker turns it on too, and never off. */
export function enableForwarding(): void {
  const knob = '/proc/sys/net/ipv4/ip_forward';
  if (fs.readFileSync(knob, 'utf8').trim() !== '1') writeKernelFile(knob, '1');
}

/**
 * A port published on 127.0.0.1 reaches a container through this bridge with
 * a loopback source, which the kernel drops as martian unless route_localnet
 * is on for the bridge (netavark and Docker set it too; the firewall then
 * drops new connections from containers to the host's 127.0.0.0/8).
 */
export function allowLocalnetRouting(name: string): void {
  const knob = `/proc/sys/net/ipv4/conf/${name}/route_localnet`;
  if (fs.readFileSync(knob, 'utf8').trim() !== '1') writeKernelFile(knob, '1');
}

/** Bridges this data root made, found by their alias: what `system reset` removes when the database cannot say. */
export function ownedBridges(): string[] {
  const links = ipJson<{ ifname: string }>(['link', 'show', 'type', 'bridge']);
  return links.map((l) => l.ifname).filter((name) => bridgeOwner(name).kind === 'this root');
}
