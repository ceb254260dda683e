/**
 * Bridge networks: the default `bridge` (tbox0, made on first use) and
 * user-defined ones. A network is a row in SQLite, a Linux bridge holding the
 * gateway address, and its share of tbox's firewall rules. Creating and
 * removing run under the database's write lock, so concurrent tbox processes
 * see a network either whole or not at all.
 */
import fs from 'node:fs';
import { write, type Database } from '../state/db.js';
import { newId } from '../container/names.js';
import * as store from '../state/networks.js';
import type { NetworkRecord } from '../state/networks.js';
import { listContainers } from '../state/containers.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { broadcast, contains, formatCidr, formatIp, overlaps, parseCidr, parseIp, type Cidr } from './ipv4.js';
import { overlappingRoute } from './host-routes.js';
import {
  allowLocalnetRouting,
  bridgeAddress,
  bridgeExists,
  bridgeOwner,
  createBridge,
  deleteBridge,
  enableForwarding,
  markBridge,
} from './bridge.js';
import { firewall } from './firewall/firewall.js';

export const BUILTIN_NETWORKS = ['bridge', 'host', 'none'] as const;
export const DEFAULT_NETWORK = 'bridge';

/** Where tbox0 goes; TBOX_BRIDGE / TBOX_BRIDGE_SUBNET move it (tests, or a host that needs another). */
const defaultBridge = () => process.env.TBOX_BRIDGE || 'tbox0';
const defaultSubnet = () => process.env.TBOX_BRIDGE_SUBNET || '172.16.0.0/16';

/**
 * Candidate subnets when none is given or the preferred one is taken:
 * Docker's pools, or the comma-separated TBOX_SUBNET_POOL.
 */
function* subnetPool(): Generator<Cidr> {
  if (process.env.TBOX_SUBNET_POOL) {
    for (const c of process.env.TBOX_SUBNET_POOL.split(',')) yield parseCidr(c.trim());
    return;
  }
  for (let b = 16; b <= 31; b++) yield { base: parseIp(`172.${b}.0.0`), prefix: 16 };
  for (let c = 0; c < 256; c += 16) yield { base: parseIp(`192.168.${c}.0`), prefix: 20 };
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const BRIDGE_NAME = /^[a-zA-Z0-9_.-]{1,15}$/;

export interface CreateNetworkOptions {
  name: string;
  subnet?: string;
  gateway?: string;
  bridge?: string;
  /** false: no MASQUERADE for this subnet (tbox-cni's ipMasq) */
  masquerade?: boolean;
  /** false: no isolation from other tbox bridges (tbox-cni's isolation) */
  isolated?: boolean;
}

/** Why this subnet cannot be used, or undefined if it can. */
function conflictOf(db: Database, subnet: Cidr): string | undefined {
  const networks = store.listNetworks(db);
  const clash = networks.find((n) => overlaps(parseCidr(n.subnet), subnet));
  if (clash) return `network ${clash.name} (${clash.subnet})`;
  const route = overlappingRoute(subnet, new Set(networks.map((n) => n.bridge)));
  return route && `host route ${route}`;
}

/** The kernel's side of a network: its bridge, forwarding, and the firewall rules of every network. */
function plumb(db: Database, net: NetworkRecord): void {
  if (!bridgeExists(net.bridge)) createBridge(net.bridge, net.gateway, net.subnet);
  enableForwarding();
  allowLocalnetRouting(net.bridge);
  firewall().apply(store.listNetworks(db));
}

/** plumb() for a new row: if the kernel refuses, the row and bridge go too. */
function realize(db: Database, net: NetworkRecord): void {
  try {
    plumb(db, net);
  } catch (err) {
    store.deleteNetwork(net.id, db);
    deleteBridge(net.bridge);
    firewall().apply(store.listNetworks(db));
    throw err;
  }
}

function newRecord(
  name: string,
  subnet: Cidr,
  gatewayText: string | undefined,
  bridge: string,
  isDefault: boolean,
  id: string,
  flags: { masquerade?: boolean; isolated?: boolean } = {},
): NetworkRecord {
  if (subnet.prefix > 30) throw new InvalidArgumentError(`subnet ${formatCidr(subnet)} is too small: use /30 or larger`);
  const gateway = gatewayText === undefined ? subnet.base + 1 : parseIp(gatewayText);
  if (!contains(subnet, gateway) || gateway === subnet.base || gateway === broadcast(subnet)) {
    throw new InvalidArgumentError(`gateway ${gatewayText} is not a usable address in subnet ${formatCidr(subnet)}`);
  }
  return {
    id,
    name,
    bridge,
    subnet: formatCidr(subnet),
    gateway: formatIp(gateway),
    isDefault,
    nextAddress: subnet.base + 1,
    createdAt: new Date().toISOString(),
    masquerade: flags.masquerade ?? true,
    isolated: flags.isolated ?? true,
  };
}

export function createNetwork(opts: CreateNetworkOptions): NetworkRecord {
  if (!NAME.test(opts.name)) throw new InvalidArgumentError(`invalid network name "${opts.name}": use [a-zA-Z0-9][a-zA-Z0-9_.-]`);
  if ((BUILTIN_NETWORKS as readonly string[]).includes(opts.name)) {
    throw new ConflictError(`network name ${opts.name} is reserved for a pre-defined network`);
  }
  if (opts.bridge !== undefined && !BRIDGE_NAME.test(opts.bridge)) {
    throw new InvalidArgumentError(`invalid bridge name "${opts.bridge}": at most 15 characters of [a-zA-Z0-9_.-]`);
  }
  const requested = opts.subnet === undefined ? undefined : parseCidr(opts.subnet);
  if (opts.gateway !== undefined && requested === undefined) throw new InvalidArgumentError('--gateway needs --subnet');
  return write((db) => {
    if (store.networkByName(opts.name, db)) throw new ConflictError(`network with name ${opts.name} already exists`);
    let subnet = requested;
    if (subnet) {
      const conflict = conflictOf(db, subnet);
      if (conflict) throw new ConflictError(`subnet ${formatCidr(subnet)} overlaps ${conflict}`);
    } else {
      subnet = [...subnetPool()].find((c) => !conflictOf(db, c));
      if (!subnet) throw new ConflictError('no free subnet left in the pools: give one with --subnet');
    }
    const id = newId();
    const bridge = opts.bridge ?? `br-${id.slice(0, 12)}`;
    if (bridgeExists(bridge) || fs.existsSync(`/sys/class/net/${bridge}`) || store.listNetworks(db).some((n) => n.bridge === bridge)) {
      throw new ConflictError(`bridge ${bridge} already exists on this host`);
    }
    const net = newRecord(opts.name, subnet, opts.gateway, bridge, false, id, opts);
    store.insertNetwork(net, db);
    realize(db, net);
    return net;
  });
}

/**
 * The bridge's owner decides what this root may do with it: make it, adopt it
 * (its own, with the subnet it really has), or leave it alone, naming who
 * holds it and how to choose another.
 */
function checkDefaultBridge(name: string, namedByDatabase: boolean): 'absent' | 'this root' {
  const owner = bridgeOwner(name);
  if (owner.kind === 'unmarked' && namedByDatabase) {
    // Made by a tbox from before bridges carried their owner: this root's database says it is ours.
    markBridge(name);
    return 'this root';
  }
  if (owner.kind === 'another root') {
    throw new ConflictError(
      `bridge ${name} belongs to another tbox data root (${owner.root}): give this root its own bridge with TBOX_BRIDGE=<name>`,
    );
  }
  if (owner.kind === 'not tbox' || owner.kind === 'unmarked') {
    throw new ConflictError(`${name} exists on this host and tbox did not make it, so tbox leaves it alone: set TBOX_BRIDGE=<name>`);
  }
  return owner.kind;
}

/** The default network, made (row, bridge, rules) the first time anything needs it. */
export function ensureDefaultNetwork(): NetworkRecord {
  const existing = store.networkByName(DEFAULT_NETWORK);
  if (existing && bridgeExists(existing.bridge) && checkDefaultBridge(existing.bridge, true) === 'this root') return existing;
  return write((db) => {
    const again = store.networkByName(DEFAULT_NETWORK, db);
    const owner = checkDefaultBridge(again?.bridge ?? defaultBridge(), again !== undefined);
    // Another tbox made it while we waited for the lock.
    if (again && owner === 'this root') return again;
    if (again) {
      // The row survived but the bridge did not (a reboot, or a user's ip link del).
      realize(db, again);
      return again;
    }
    if (owner === 'this root') return adoptDefaultBridge(db, defaultBridge());
    const preferred = parseCidr(defaultSubnet());
    let subnet = preferred;
    const conflict = conflictOf(db, preferred);
    if (conflict) {
      const free = [...subnetPool()].find((c) => !conflictOf(db, c));
      if (!free) throw new ConflictError(`${formatCidr(preferred)} overlaps ${conflict} and no free subnet is left in the pools`);
      subnet = free;
      process.stderr.write(`tbox: ${formatCidr(preferred)} overlaps ${conflict}; using ${formatCidr(free)} for ${defaultBridge()}\n`);
    }
    const net = newRecord(DEFAULT_NETWORK, subnet, undefined, defaultBridge(), true, newId());
    store.insertNetwork(net, db);
    realize(db, net);
    return net;
  });
}

/**
 * A network as a caller declares it each time (tbox-cni's config): made on
 * first use; its bridge and rules made again if they are gone (a reboot);
 * its NAT and isolation as declared now. A declaration that disagrees on the
 * bridge, subnet or gateway is refused rather than silently re-addressed.
 */
export function ensureNetwork(opts: CreateNetworkOptions & { subnet: string; bridge: string }): NetworkRecord {
  return write((db) => {
    const net = store.networkByName(opts.name, db);
    if (!net) return createNetwork(opts);
    const subnet = formatCidr(parseCidr(opts.subnet));
    if (net.subnet !== subnet || net.bridge !== opts.bridge || (opts.gateway !== undefined && net.gateway !== opts.gateway)) {
      throw new ConflictError(
        `network ${net.name} exists with bridge ${net.bridge}, subnet ${net.subnet} and gateway ${net.gateway}: ` +
          'give the new settings another network name, or remove the old network once nothing uses it',
      );
    }
    const declared = { ...net, masquerade: opts.masquerade ?? true, isolated: opts.isolated ?? true };
    const changed = declared.masquerade !== net.masquerade || declared.isolated !== net.isolated;
    if (changed) store.setNetworkFlags(declared, db);
    if (changed || !bridgeExists(net.bridge)) plumb(db, declared);
    return declared;
  });
}

/** This root's own bridge outlived its database (state/ removed by hand): take it back as it is. */
function adoptDefaultBridge(db: Database, bridge: string): NetworkRecord {
  const addr = bridgeAddress(bridge);
  if (!addr) {
    throw new ConflictError(`bridge ${bridge} of this data root has no IPv4 address: remove it (ip link del ${bridge}) and run again`);
  }
  const net = newRecord(DEFAULT_NETWORK, parseCidr(addr.subnet), addr.gateway, bridge, true, newId());
  store.insertNetwork(net, db);
  realize(db, net);
  return net;
}

/** `--network container:ID`: the netns of another container, no network of its own. */
export const sharedNetnsOf = (network: string) => (network.startsWith('container:') ? network.slice('container:'.length) : undefined);

/** A bridge network by name or id, for `--network`; undefined for host, none and container:X. */
export function resolveNetwork(name: string): NetworkRecord | undefined {
  if (name === 'host' || name === 'none' || sharedNetnsOf(name) !== undefined) return undefined;
  if (name === DEFAULT_NETWORK) return ensureDefaultNetwork();
  const net = store.networkByName(name);
  if (!net) throw new NotFoundError(`network ${name} not found`);
  return net;
}

export function removeNetwork(name: string): NetworkRecord {
  if ((BUILTIN_NETWORKS as readonly string[]).includes(name)) {
    throw new ConflictError(`${name} is a pre-defined network and cannot be removed`);
  }
  return write((db) => {
    const net = store.networkByName(name, db);
    if (!net) throw new NotFoundError(`network ${name} not found`);
    const users = store.countLeases(net.id, db);
    if (users > 0) {
      throw new ConflictError(`network ${name} has ${users} running container${users > 1 ? 's' : ''}: stop or remove them first`);
    }
    store.deleteNetwork(net.id, db);
    deleteBridge(net.bridge);
    firewall().apply(store.listNetworks(db));
    return net;
  });
}

/** `tbox network prune`: user networks no container (running or not) was run on or connected to. */
export function pruneNetworks(): string[] {
  const used = new Set(listContainers().flatMap((c) => [c.spec.network, ...(c.spec.connections ?? []).map((x) => x.network)]));
  const removed: string[] = [];
  for (const net of store.listNetworks()) {
    if (net.isDefault || used.has(net.name) || used.has(net.id)) continue;
    removeNetwork(net.name);
    removed.push(net.name);
  }
  return removed;
}

/** Every bridge network, bridge and rule tbox made: for `tbox system reset`. */
export function removeAllNetworks(): void {
  write((db) => {
    for (const net of store.listNetworks(db)) {
      db.prepare('DELETE FROM leases WHERE network_id = ?').run(net.id);
      store.deleteNetwork(net.id, db);
      deleteBridge(net.bridge);
    }
    firewall().apply([]);
  });
}
