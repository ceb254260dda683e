/**
 * The iptables backend (iptables-nft or legacy). iptables rather than a
 * separate nft table because a host with Docker has FORWARD policy DROP in
 * iptables' filter table, and an accept in another nft table cannot override
 * that drop: the accept must live in the same FORWARD chain.
 *
 * Per network (apply() rewrites these whole, in one iptables-restore):
 *   filter FORWARD  -> <P>-FORWARD     isolation first, published ports, then per
 *                                      bridge: replies in, same-bridge traffic
 *                                      (br_netfilter sends bridged frames through
 *                                      FORWARD), out
 *   <P>-ISOLATION-1/2                  Docker's two-stage isolation: traffic from one
 *                                      tbox bridge to another is dropped
 *   filter INPUT    -> <P>-INPUT       a container may not open connections to the
 *                                      host's 127.0.0.0/8 (route_localnet is on)
 *   nat POSTROUTING -> <P>-POSTROUTING MASQUERADE what leaves the subnet by any
 *                                      interface but its bridge, and what reaches
 *                                      it from 127.0.0.1 (a port published there)
 * Per published port (setup/teardown, rules marked with the container's id):
 *   nat PREROUTING  -> <P>-DNAT        to the host's own addresses, but 127.0.0.0/8:
 *   nat OUTPUT      -> <P>-DNAT        from the host itself, 127.0.0.0/8 included.
 *                                      So a port published on 127.0.0.1 is never
 *                                      reachable from outside (Docker's bug before 28)
 *   <P>-HAIRPIN (from <P>-POSTROUTING) a container reaching its own published port
 *   <P>-PORTS   (from <P>-FORWARD)     accept the forwarded connection
 * where <P> is this data root's chain prefix.
 */
import { run } from '../../host/command.js';
import { hostIpOf, ANY_ADDRESS } from '../ports.js';
import type { Firewall, FirewallNetwork, PortForward } from './firewall.js';

type Table = 'filter' | 'nat';

export class IptablesFirewall implements Firewall {
  private readonly chains: {
    forward: string;
    isolation1: string;
    isolation2: string;
    input: string;
    ports: string;
    postrouting: string;
    dnat: string;
    hairpin: string;
  };

  constructor(prefix: string) {
    this.chains = {
      forward: `${prefix}-FORWARD`,
      isolation1: `${prefix}-ISOLATION-1`,
      isolation2: `${prefix}-ISOLATION-2`,
      input: `${prefix}-INPUT`,
      ports: `${prefix}-PORTS`,
      postrouting: `${prefix}-POSTROUTING`,
      dnat: `${prefix}-DNAT`,
      hairpin: `${prefix}-HAIRPIN`,
    };
  }

  /** Chains apply() rewrites whole, and those the port forwards fill rule by rule (created once, never flushed by apply). */
  private ownedChains(): Record<Table, { rewritten: string[]; kept: string[] }> {
    const c = this.chains;
    return {
      filter: { rewritten: [c.forward, c.isolation1, c.isolation2, c.input], kept: [c.ports] },
      nat: { rewritten: [c.postrouting], kept: [c.dnat, c.hairpin] },
    };
  }

  /** The jumps from the kernel's chains into ours: [table, chain, match]. */
  private jumps(): [Table, string, string, string][] {
    const c = this.chains;
    return [
      ['filter', 'FORWARD', '', c.forward],
      ['filter', 'INPUT', '', c.input],
      ['nat', 'POSTROUTING', '', c.postrouting],
      ['nat', 'PREROUTING', '! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL ', c.dnat],
      ['nat', 'OUTPUT', '-m addrtype --dst-type LOCAL ', c.dnat],
    ];
  }

  apply(networks: readonly FirewallNetwork[]): void {
    if (networks.length === 0) {
      this.removeAll();
      return;
    }
    run('iptables-restore', ['-w', '--noflush'], { input: this.restoreInput(networks, saved()) });
  }

  /** The iptables-restore input that makes tbox's chains exactly what these networks need. */
  restoreInput(networks: readonly FirewallNetwork[], existing: SavedRules): string {
    const c = this.chains;
    const comment = (n: FirewallNetwork) => `-m comment --comment "tbox network ${n.name}"`;
    const rules: Record<Table, string[]> = {
      filter: [
        `-A ${c.forward} -j ${c.isolation1}`,
        `-A ${c.forward} -j ${c.ports}`,
        ...networks.flatMap((n) => [
          `-A ${c.forward} -o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED ${comment(n)} -j ACCEPT`,
          `-A ${c.forward} -i ${n.bridge} -o ${n.bridge} ${comment(n)} -j ACCEPT`,
          `-A ${c.forward} -i ${n.bridge} ! -o ${n.bridge} ${comment(n)} -j ACCEPT`,
          ...(n.isolated === false
            ? []
            : [
                `-A ${c.isolation1} -i ${n.bridge} ! -o ${n.bridge} ${comment(n)} -j ${c.isolation2}`,
                `-A ${c.isolation2} -o ${n.bridge} ${comment(n)} -j DROP`,
              ]),
          `-A ${c.input} -i ${n.bridge} -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED ${comment(n)} -j DROP`,
        ]),
      ],
      nat: [
        `-A ${c.postrouting} -j ${c.hairpin}`,
        ...networks.flatMap((n) => [
          ...(n.masquerade === false ? [] : [`-A ${c.postrouting} -s ${n.subnet} ! -o ${n.bridge} ${comment(n)} -j MASQUERADE`]),
          `-A ${c.postrouting} -s 127.0.0.0/8 -o ${n.bridge} ${comment(n)} -j MASQUERADE`,
        ]),
      ],
    };
    const owned = this.ownedChains();
    return (['filter', 'nat'] as const)
      .flatMap((table) => [
        `*${table}`,
        // Declaring a chain flushes it: the per-port chains are declared only when missing.
        ...owned[table].rewritten.map((name) => `:${name} - [0:0]`),
        ...owned[table].kept.filter((name) => !existing.chains[table].has(name)).map((name) => `:${name} - [0:0]`),
        ...rules[table],
        ...this.jumps()
          .filter(([t, from, , to]) => t === table && !existing.jumpsTo(table, from, to).length)
          .map(([, from, match, to]) => `-I ${from} 1 ${match}-j ${to}`),
        'COMMIT',
      ])
      .join('\n')
      .concat('\n');
  }

  /** A port forward's rules, as `-A` lines per table. */
  private forwardRules(f: PortForward): { nat: string[]; filter: string[] } {
    const c = this.chains;
    const mark = `-m comment --comment ${forwardMark(f.containerId)}`;
    const nat: string[] = [];
    const filter: string[] = [];
    for (const p of f.ports) {
      const to = `${f.containerIp}:${p.containerPort}`;
      const dst = hostIpOf(p) === ANY_ADDRESS ? '' : `-d ${hostIpOf(p)}/32 `;
      const match = `-p ${p.proto} -m ${p.proto} --dport`;
      nat.push(`-A ${c.dnat} ${dst}${match} ${p.hostPort} ${mark} -j DNAT --to-destination ${to}`);
      nat.push(`-A ${c.hairpin} -s ${f.containerIp}/32 -d ${f.containerIp}/32 ${match} ${p.containerPort} ${mark} -j MASQUERADE`);
      filter.push(`-A ${c.ports} -d ${f.containerIp}/32 -o ${f.bridge} ${match} ${p.containerPort} ${mark} -j ACCEPT`);
    }
    return { nat, filter };
  }

  setupPortForward(f: PortForward): void {
    const { nat, filter } = this.forwardRules(f);
    if (nat.length) run('iptables-restore', ['-w', '--noflush'], { input: restoreText(nat, filter) });
  }

  /**
   * The exact rules setup made, deleted in one process. If any is missing (a
   * hand edit, a crash half-way), every rule marked with the container's id
   * is found in iptables-save and deleted instead (so too with no ports given).
   */
  teardownPortForward(f: PortForward): void {
    if (f.ports.length === 0) return this.sweepPortForward(f.containerId);
    const { nat, filter } = this.forwardRules(f);
    const del = (lines: string[]) => lines.map((l) => `-D${l.slice(2)}`);
    const exact = run('iptables-restore', ['-w', '--noflush'], { input: restoreText(del(nat), del(filter)), allowFailure: true });
    if (exact.code !== 0) this.sweepPortForward(f.containerId);
  }

  private sweepPortForward(containerId: string): void {
    const c = this.chains;
    const existing = saved();
    const mark = new RegExp(`--comment "?${forwardMark(containerId)}"?( |$)`);
    const doomed = (table: Table, chains: string[]) =>
      existing.lines[table].filter((l) => chains.some((ch) => l.startsWith(`-A ${ch} `)) && mark.test(l)).map((l) => `-D${l.slice(2)}`);
    const nat = doomed('nat', [c.dnat, c.hairpin]);
    const filter = doomed('filter', [c.ports]);
    if (nat.length + filter.length > 0) run('iptables-restore', ['-w', '--noflush'], { input: restoreText(nat, filter) });
  }

  private removeAll(): void {
    const existing = saved();
    const owned = this.ownedChains();
    const script = (['filter', 'nat'] as const).flatMap((table) => {
      const mine = [...owned[table].rewritten, ...owned[table].kept].filter((name) => existing.chains[table].has(name));
      // every jump into our chains, a copy added by hand included
      const jumps = this.jumps()
        .filter(([t]) => t === table)
        .flatMap(([, from, , to]) => existing.jumpsTo(table, from, to).map((l) => `-D${l.slice(2)}`));
      if (mine.length === 0 && jumps.length === 0) return [];
      return [`*${table}`, ...jumps, ...mine.map((name) => `-F ${name}`), ...mine.map((name) => `-X ${name}`), 'COMMIT'];
    });
    if (script.length) run('iptables-restore', ['-w', '--noflush'], { input: script.join('\n') + '\n' });
  }
}

const restoreText = (nat: string[], filter: string[]) => ['*nat', ...nat, 'COMMIT', '*filter', ...filter, 'COMMIT', ''].join('\n');

/** What marks a container's port-forward rules (its short id), so teardown finds every copy. */
const forwardMark = (containerId: string) => `tbox:${containerId.slice(0, 12)}`;

/** The kernel's filter and nat rules as iptables-save prints them: one process for everything apply and teardown need to know. */
export interface SavedRules {
  chains: Record<Table, Set<string>>;
  lines: Record<Table, string[]>;
  jumpsTo(table: Table, from: string, to: string): string[];
}

export function parseSaved(text: string): SavedRules {
  const chains: Record<Table, Set<string>> = { filter: new Set(), nat: new Set() };
  const lines: Record<Table, string[]> = { filter: [], nat: [] };
  let table: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    if (table !== 'filter' && table !== 'nat') continue;
    if (line.startsWith(':')) chains[table].add(line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ')) lines[table].push(line);
  }
  return {
    chains,
    lines,
    jumpsTo: (t, from, to) => lines[t].filter((l) => l.startsWith(`-A ${from} `) && l.endsWith(` -j ${to}`)),
  };
}

function saved(): SavedRules {
  return parseSaved(run('iptables-save', [], { allowFailure: true }).stdout);
}
