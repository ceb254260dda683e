/**
 * Published ports as Docker writes them: `-p [IP:][HOSTPORT:]CPORT[/PROTO]`,
 * with ranges (`8000-8003:80-83`), `--expose`, an image's ExposedPorts and
 * `-P`; and printed as Docker prints them (`0.0.0.0:8080->80/tcp`).
 */
import { InvalidArgumentError } from '../errors.js';
import { parseIp } from './ipv4.js';
import { hostIpOf, type PortMapping, type PortProto } from '../state/ports.js';

export { ANY_ADDRESS, hostIpOf, type PortBinding, type PortMapping, type PortProto } from '../state/ports.js';

function parsePort(text: string, what: string, flag: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new InvalidArgumentError(`invalid ${flag} ${what} "${text}": a port from 1 to 65535`);
  return n;
}

/** "80" or "80-83" as a list of ports. */
function parseRange(text: string, what: string, flag: string): number[] {
  const [lo, hi, extra] = text.split('-');
  if (extra !== undefined || lo === undefined) throw new InvalidArgumentError(`invalid ${flag} ${what} range "${text}"`);
  const first = parsePort(lo, what, flag);
  const last = hi === undefined ? first : parsePort(hi, what, flag);
  if (last < first) throw new InvalidArgumentError(`invalid ${flag} ${what} range "${text}": the end is below the start`);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function parseProto(text: string | undefined, flag: string, value: string): PortProto {
  const proto = (text ?? 'tcp').toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp') throw new InvalidArgumentError(`invalid ${flag} "${value}": protocol ${proto} (tcp or udp)`);
  return proto;
}

/** `CPORT[-END][/PROTO]`: --expose and the image's ExposedPorts keys. */
export function parseExposed(value: string, flag = '--expose'): { ports: number[]; proto: PortProto } {
  const [ports, proto, extra] = value.split('/');
  if (extra !== undefined || !ports) throw new InvalidArgumentError(`invalid ${flag} "${value}": expected PORT[-END][/tcp|udp]`);
  return { ports: parseRange(ports, 'port', flag), proto: parseProto(proto, flag, value) };
}

/** One `-p` value. */
export function parsePublish(value: string): PortMapping[] {
  const [spec, protoText, extra] = value.split('/');
  if (extra !== undefined || !spec) throw new InvalidArgumentError(`invalid -p "${value}": expected [IP:][HOSTPORT:]CPORT[/tcp|udp]`);
  if (spec.startsWith('[')) throw new InvalidArgumentError(`invalid -p "${value}": tbox publishes on IPv4 addresses only`);
  const proto = parseProto(protoText, '-p', value);
  const parts = spec.split(':');
  if (parts.length > 3) throw new InvalidArgumentError(`invalid -p "${value}": expected [IP:][HOSTPORT:]CPORT[/tcp|udp]`);
  const [hostIp, hostPorts, containerPorts] = parts.length === 3 ? parts : parts.length === 2 ? ['', ...parts] : ['', '', ...parts];
  if (hostIp) parseIp(hostIp);
  const cports = parseRange(containerPorts!, 'container port', '-p');
  const hports = hostPorts ? parseRange(hostPorts, 'host port', '-p') : cports.map(() => 0);
  if (hports.length !== cports.length) {
    throw new InvalidArgumentError(`invalid -p "${value}": the host range and the container range differ in length`);
  }
  return cports.map((containerPort, i) => ({ hostIp: hostIp || '', hostPort: hports[i]!, containerPort, proto }));
}

/**
 * Everything a container publishes: each -p, then with -P every exposed port
 * (the image's and --expose's) not already published, on a free host port.
 */
export function resolvePublished(publish: string[], publishAll: boolean, exposed: string[]): PortMapping[] {
  const mappings = publish.flatMap(parsePublish);
  if (publishAll) {
    for (const key of exposed) {
      const { ports, proto } = parseExposed(key);
      for (const port of ports) {
        if (!mappings.some((m) => m.containerPort === port && m.proto === proto)) {
          mappings.push({ hostIp: '', hostPort: 0, containerPort: port, proto });
        }
      }
    }
  }
  return mappings;
}

/** "80/tcp" keys of --expose, the image's ExposedPorts and the published ports: inspect's Config.ExposedPorts. */
export function exposedKeys(imageExposed: string[], expose: string[], mappings: PortMapping[]): string[] {
  const keys = [
    ...[...imageExposed.map((k) => parseExposed(k, 'image ExposedPorts')), ...expose.map((e) => parseExposed(e))].flatMap(
      ({ ports, proto }) => ports.map((p) => `${p}/${proto}`),
    ),
    ...mappings.map((m) => `${m.containerPort}/${m.proto}`),
  ];
  return [...new Set(keys)];
}

/**
 * ps's PORTS column: "0.0.0.0:8000-8003->80-83/tcp, 443/tcp". Consecutive
 * bindings collapse into ranges, and exposed ports that are not published
 * show on their own, as Docker shows them.
 */
export function formatPortsColumn(bindings: PortMapping[], exposed: string[]): string {
  const sorted = [...bindings].sort(
    (a, b) => a.proto.localeCompare(b.proto) || hostIpOf(a).localeCompare(hostIpOf(b)) || a.containerPort - b.containerPort,
  );
  const groups: { first: PortMapping; last: PortMapping }[] = [];
  for (const b of sorted) {
    const g = groups.at(-1);
    if (
      g &&
      g.last.proto === b.proto &&
      hostIpOf(g.last) === hostIpOf(b) &&
      b.containerPort === g.last.containerPort + 1 &&
      b.hostPort === g.last.hostPort + 1
    ) {
      g.last = b;
    } else groups.push({ first: b, last: b });
  }
  const range = (a: number, b: number) => (a === b ? `${a}` : `${a}-${b}`);
  const published = groups.map(
    ({ first, last }) =>
      `${hostIpOf(first)}:${range(first.hostPort, last.hostPort)}->${range(first.containerPort, last.containerPort)}/${first.proto}`,
  );
  const bare = exposed.filter((key) => !bindings.some((b) => `${b.containerPort}/${b.proto}` === key));
  return [...bare, ...published].join(', ');
}
