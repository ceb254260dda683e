/** IPv4 addresses as unsigned 32-bit integers, and CIDR arithmetic. */
import { InvalidArgumentError } from '../errors.js';

export interface Cidr {
  /** Network address. */
  base: number;
  prefix: number;
}

export function parseIp(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new InvalidArgumentError(`invalid IPv4 address: "${text}"`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

const mask = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export function parseCidr(text: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || prefix > 32) throw new InvalidArgumentError(`invalid CIDR "${text}": expected A.B.C.D/N, for example 10.10.0.0/24`);
  const ip = parseIp(m[1]!);
  const base = (ip & mask(prefix)) >>> 0;
  if (base !== ip) {
    throw new InvalidArgumentError(`invalid CIDR "${text}": host bits are set (did you mean ${formatIp(base)}/${prefix}?)`);
  }
  return { base, prefix };
}

/** The network containing ip/prefix (host bits cleared). */
export const cidrOf = (ip: number, prefix: number): Cidr => ({ base: (ip & mask(prefix)) >>> 0, prefix });

export const formatCidr = (c: Cidr) => `${formatIp(c.base)}/${c.prefix}`;
export const size = (c: Cidr) => 2 ** (32 - c.prefix);
export const broadcast = (c: Cidr) => c.base + size(c) - 1;
export const contains = (c: Cidr, ip: number) => ip >= c.base && ip <= broadcast(c);
export const overlaps = (a: Cidr, b: Cidr) => a.base <= broadcast(b) && b.base <= broadcast(a);

/** Docker-style MAC from the address (02:42:ac:10:00:02), so ARP tables read easily. */
export function macFor(ip: number): string {
  return ['02', '42', ...[24, 16, 8, 0].map((s) => ((ip >>> s) & 255).toString(16).padStart(2, '0'))].join(':');
}
