/**
 * The firewall behind a small interface, as netavark does it: tbox states
 * which networks exist, and a backend makes the kernel's rules match. Every
 * backend keeps tbox's rules in chains of its own, so they can be listed and
 * removed as a whole and never touch anyone else's.
 */
import { IptablesFirewall } from './iptables.js';

export interface FirewallNetwork {
  name: string;
  bridge: string;
  subnet: string;
}

export interface Firewall {
  /** Make tbox's rules exactly those these networks need (idempotent). */
  apply(networks: readonly FirewallNetwork[]): void;
}

/** Chain names start with this; TBOX_CHAIN_PREFIX lets separate tbox roots (tests) sit side by side. */
export const chainPrefix = () => process.env.TBOX_CHAIN_PREFIX || 'TBOX';

export function firewall(): Firewall {
  return new IptablesFirewall(chainPrefix());
}
