/**
 * `tbox network diagram`: the live topology of a network, read from the
 * kernel (links, their state, addresses, the NAT rule) and the database
 * (which container holds which lease and port), drawn as text or as an SVG
 * in the style of the article's figures.
 */
import fs from 'node:fs';
import { ipJson, run } from '../host/command.js';
import { getContainer } from '../state/containers.js';
import { leasesOf, listNetworks, type NetworkRecord } from '../state/networks.js';
import { bindingsOf } from '../state/ports.js';
import { NotFoundError } from '../errors.js';
import { bridgeAddress } from './bridge.js';
import { formatPortsColumn } from './ports.js';
import { formatIp } from './ipv4.js';
import { chainPrefix } from './firewall/firewall.js';

export interface DiagramEndpoint {
  name: string;
  ip: string;
  mac: string;
  state: string;
  hostVeth: string;
  hostVethState: string;
  ports: string;
}

export interface DiagramNetwork {
  name: string;
  bridge: string;
  bridgeState: string;
  /** the address really on the bridge, or '' when it is missing */
  bridgeAddress: string;
  subnet: string;
  uplink: { dev: string; address: string };
  /** the MASQUERADE rule for the subnet, as iptables-save prints it, or '' */
  nat: string;
  ipForward: boolean;
  endpoints: DiagramEndpoint[];
}

const linkState = (name: string) => {
  try {
    return fs.readFileSync(`/sys/class/net/${name}/operstate`, 'utf8').trim().toUpperCase();
  } catch {
    return 'MISSING';
  }
};

/** The host's way out: the default route's device and its address. */
function uplink(): { dev: string; address: string } {
  const routes = ipJson<{ dev?: string }>(['-4', 'route', 'show', 'default']);
  const dev = routes[0]?.dev ?? '';
  if (!dev) return { dev: '(no default route)', address: '' };
  const links = ipJson<{ addr_info?: { local: string }[] }>(['-4', 'addr', 'show', 'dev', dev]);
  return { dev, address: links[0]?.addr_info?.[0]?.local ?? '' };
}

export function describeNetworks(name?: string): DiagramNetwork[] {
  const nets = listNetworks().filter((n) => name === undefined || n.name === name || n.id.startsWith(name));
  if (name !== undefined && nets.length === 0) throw new NotFoundError(`network ${name} not found`);
  const saved = run('iptables-save', ['-t', 'nat'], { allowFailure: true }).stdout.split('\n');
  const up = uplink();
  const forward = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1';
  return nets.map((n: NetworkRecord) => ({
    name: n.name,
    bridge: n.bridge,
    bridgeState: linkState(n.bridge),
    bridgeAddress: bridgeAddress(n.bridge) ? `${n.gateway}/${n.subnet.split('/')[1]}` : '',
    subnet: n.subnet,
    uplink: up,
    nat: saved.find((l) => l.startsWith(`-A ${chainPrefix()}-POSTROUTING -s ${n.subnet} `) && l.includes('MASQUERADE')) ?? '',
    ipForward: forward,
    endpoints: leasesOf(n.id).map((l) => {
      const c = getContainer(l.containerId);
      return {
        name: c?.name ?? l.containerId.slice(0, 12),
        ip: formatIp(l.address),
        mac: l.mac,
        state: c?.state ?? 'unknown',
        hostVeth: l.hostVeth,
        hostVethState: linkState(l.hostVeth),
        ports: c ? formatPortsColumn(bindingsOf(c.id), []) : '',
      };
    }),
  }));
}

/** Box-drawing text, at most 100 columns wide. */
export function diagramText(n: DiagramNetwork): string {
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const nat = n.nat ? `NAT: MASQUERADE ${n.subnet} out of any interface but ${n.bridge}` : 'NAT: no MASQUERADE rule for the subnet';
  const bridgeLine = `bridge ${n.bridge}  ${n.bridgeAddress || '(no address!)'}  ${n.bridgeState}`;
  const width = Math.min(96, Math.max(bridgeLine.length + 4, 40));
  const out = [
    `network ${n.name}`,
    `  uplink ${n.uplink.dev} ${n.uplink.address}  ◄── ${nat}`,
    `      │  ip_forward=${n.ipForward ? 1 : 0}: the host routes between the bridge and the uplink`,
    `  ┌───┴${'─'.repeat(width - 6)}┐`,
    `  │ ${fit(bridgeLine, width - 4)} │`,
    `  └───┬${'─'.repeat(width - 6)}┘`,
  ];
  if (n.endpoints.length === 0) out.push('      (no container)');
  n.endpoints.forEach((e, i) => {
    const branch = i === n.endpoints.length - 1 ? '└' : '├';
    const veth = `${branch}── ${e.hostVeth} ${e.hostVethState === 'UP' ? '' : `(${e.hostVethState}) `}══ veth ══ eth0 ▶ `;
    const who = `${e.name}  ${e.ip}  ${e.mac}  ${e.state}`;
    out.push(`      ${veth}${fit(who, 92 - veth.length)}`);
    if (e.ports)
      out.push(`      ${i === n.endpoints.length - 1 ? ' ' : '│'}${' '.repeat(veth.length - 1)}ports ${fit(e.ports, 86 - veth.length)}`);
  });
  return out.map((l) => l.trimEnd()).join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An SVG picture: the uplink and NAT on top, the bridge as a bar, each container below it on its veth pair. */
export function diagramSvg(nets: DiagramNetwork[]): string {
  const BOX_W = 200;
  const GAP = 30;
  const parts: string[] = [];
  let y = 20;
  let width = 640;
  for (const n of nets) {
    const cols = Math.max(1, n.endpoints.length);
    const w = Math.max(600, cols * (BOX_W + GAP) + GAP);
    width = Math.max(width, w + 40);
    const x0 = 20;
    parts.push(`<text x="${x0}" y="${y + 14}" class="title">network ${esc(n.name)} (${esc(n.subnet)})</text>`);
    y += 30;
    // the host's uplink and the NAT rule
    parts.push(`<rect x="${x0 + w / 2 - 170}" y="${y}" width="340" height="44" rx="6" class="host"/>`);
    parts.push(`<text x="${x0 + w / 2}" y="${y + 18}" class="c">uplink ${esc(n.uplink.dev)} ${esc(n.uplink.address)}</text>`);
    parts.push(
      `<text x="${x0 + w / 2}" y="${y + 36}" class="c small">${n.nat ? `MASQUERADE ${esc(n.subnet)} ! -o ${esc(n.bridge)}` : 'no NAT rule'} · ip_forward=${n.ipForward ? 1 : 0}</text>`,
    );
    parts.push(`<line x1="${x0 + w / 2}" y1="${y + 44}" x2="${x0 + w / 2}" y2="${y + 80}" class="wire"/>`);
    y += 80;
    // the bridge
    parts.push(`<rect x="${x0}" y="${y}" width="${w}" height="40" rx="6" class="bridge"/>`);
    parts.push(
      `<text x="${x0 + w / 2}" y="${y + 25}" class="c">bridge ${esc(n.bridge)} · ${esc(n.bridgeAddress || 'no address!')} · ${esc(n.bridgeState)}</text>`,
    );
    const top = y + 40;
    y += 40;
    n.endpoints.forEach((e, i) => {
      const bx = x0 + GAP + i * (BOX_W + GAP);
      const cx = bx + BOX_W / 2;
      parts.push(`<line x1="${cx}" y1="${top}" x2="${cx}" y2="${top + 70}" class="veth"/>`);
      parts.push(`<text x="${cx + 6}" y="${top + 20}" class="small">${esc(e.hostVeth)} (hlink)</text>`);
      parts.push(`<text x="${cx + 6}" y="${top + 58}" class="small">eth0 (clink)</text>`);
      const by = top + 70;
      parts.push(`<rect x="${bx}" y="${by}" width="${BOX_W}" height="${e.ports ? 96 : 80}" rx="6" class="ctr"/>`);
      const lines = [e.name, e.ip, e.mac, e.state, ...(e.ports ? [e.ports] : [])];
      lines.forEach((t, k) => parts.push(`<text x="${cx}" y="${by + 18 + k * 16}" class="c${k ? ' small' : ''}">${esc(t)}</text>`));
    });
    y = top + (n.endpoints.length ? 70 + 110 : 20) + 20;
  }
  const style = `
    text { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; font-size: 13px; fill: #1f2933; }
    .title { font-size: 15px; font-weight: bold; }
    .c { text-anchor: middle; }
    .small { font-size: 11px; }
    .host { fill: #e8f0fe; stroke: #4a6fa5; stroke-width: 1.5; }
    .bridge { fill: #fff4d6; stroke: #c9a227; stroke-width: 1.5; }
    .ctr { fill: #e6f4ea; stroke: #3c8d5a; stroke-width: 1.5; }
    .wire { stroke: #4a6fa5; stroke-width: 2; }
    .veth { stroke: #3c8d5a; stroke-width: 3; stroke-dasharray: 6 3; }`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">`,
    `<style>${style}\n</style>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
  ].join('\n');
}
