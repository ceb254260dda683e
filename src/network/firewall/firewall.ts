/**
 * The firewall behind a small interface, as netavark's FirewallDriver: tbox
 * states which networks exist (apply) and which ports a container publishes
 * (setup/teardown per port forward), and a backend makes the kernel's rules
 * match. Every backend keeps tbox's rules in chains of its own, so they can
 * be listed and removed as a whole and never touch anyone else's.
 */
import { IptablesFirewall } from './iptables.js';
import { InvalidArgumentError } from '../../errors.js';
import { dataRootTag } from '../../paths.js';
import type { PortMapping } from '../ports.js';

export interface FirewallNetwork {
  name: string;
  bridge: string;
  subnet: string;
  /** MASQUERADE what leaves the subnet (unset: yes) */
  masquerade?: boolean;
  /** drop traffic to and from other tbox bridges (unset: yes) */
  isolated?: boolean;
}

/** What a container publishes, and where it is. */
export interface PortForward {
  containerId: string;
  containerIp: string;
  bridge: string;
  ports: PortMapping[];
}

export interface Firewall {
  /** Make tbox's network rules exactly those these networks need (idempotent); none left removes every chain. */
  apply(networks: readonly FirewallNetwork[]): void;
  /** DNAT a container's published ports to it (replacing any it had). */
  setupPortForward(forward: PortForward): void;
  /** Remove every rule a container's port forward made. */
  teardownPortForward(forward: PortForward): void;
}

/**
 * Chain names start with this. Each data root has chains of its own
 * (TBOX-<hash of the root>), so one root's apply or reset never touches
 * another's rules; TBOX_CHAIN_PREFIX names them outright (tests).
 */
export const chainPrefix = () => process.env.TBOX_CHAIN_PREFIX || `TBOX-${dataRootTag().slice('tbox:'.length, 'tbox:'.length + 8)}`;

const BACKENDS: Record<string, (prefix: string) => Firewall> = {
  iptables: (prefix) => new IptablesFirewall(prefix),
};

/** The backend by name (TBOX_FIREWALL, default iptables), as netavark picks its driver. */
export function firewall(): Firewall {
  const name = process.env.TBOX_FIREWALL || 'iptables';
  const make = BACKENDS[name];
  if (!make) throw new InvalidArgumentError(`unknown TBOX_FIREWALL backend ${name}: use one of ${Object.keys(BACKENDS).join(', ')}`);
  return make(chainPrefix());
}
