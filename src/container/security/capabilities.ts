/**
 * Linux capabilities by name and number, Docker's default set, and
 * --cap-add / --cap-drop / --privileged as Docker applies them.
 */
import fs from 'node:fs';
import { InvalidArgumentError } from '../../errors.js';

/** capability(7) numbers, CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40). */
export const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const; // prettier-ignore

/** Docker's default set (moby's oci/caps/defaults.go): CapBnd 00000000a80425fb for root. */
export const DOCKER_DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
]; // prettier-ignore

/** NET_ADMIN, cap_net_admin or CAP_NET_ADMIN: the canonical CAP_ name; ALL stays ALL. */
export function normalizeCap(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!(CAPABILITIES as readonly string[]).includes(full)) throw new InvalidArgumentError(`unknown capability: "${name}"`);
  return full;
}

/** The capabilities this host's kernel and tbox itself have: what --privileged gives. */
export function hostCapabilities(): string[] {
  const line = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return capsOfMask(line?.[1] ?? '0');
}

/** The names in a hex mask, as /proc/PID/status and the shim show it. */
export const capsOfMask = (hex: string) => CAPABILITIES.filter((_, i) => (BigInt(`0x${hex}`) >> BigInt(i)) & 1n);

/** Docker's rule: start from the defaults (or all with --privileged), add, then drop; ALL in either means every one. */
export function effectiveCaps(opts: { capAdd: string[]; capDrop: string[]; privileged: boolean }): string[] {
  const all = hostCapabilities();
  const add = opts.capAdd.map(normalizeCap);
  const drop = opts.capDrop.map(normalizeCap);
  if (opts.privileged) return all;
  let caps = new Set<string>(DOCKER_DEFAULT_CAPS);
  if (add.includes('ALL')) caps = new Set(all);
  else for (const c of add) caps.add(c);
  if (drop.includes('ALL')) caps = new Set(add.filter((c) => c !== 'ALL'));
  else for (const c of drop) caps.delete(c);
  return CAPABILITIES.filter((c) => caps.has(c));
}

/** A set as the 64-bit mask /proc/PID/status shows (CapBnd: 00000000a80425fb). */
export function capMask(caps: readonly string[]): string {
  let mask = 0n;
  for (const c of caps) mask |= 1n << BigInt((CAPABILITIES as readonly string[]).indexOf(c));
  return mask.toString(16).padStart(16, '0');
}
