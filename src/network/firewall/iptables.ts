/**
 * The iptables backend (iptables-nft or legacy). iptables rather than a
 * separate nft table because a host with Docker has FORWARD policy DROP in
 * iptables' filter table, and an accept in another nft table cannot override
 * that drop: the accept must live in the same FORWARD chain.
 *
 * filter FORWARD    -> <P>-FORWARD     isolation first, then per bridge:
 *                                      replies in, same-bridge traffic (br_netfilter
 *                                      sends bridged frames through FORWARD), out
 * <P>-ISOLATION-1/2                    Docker's two-stage isolation: traffic from one
 *                                      tbox bridge to another is dropped
 * nat POSTROUTING   -> <P>-POSTROUTING MASQUERADE what leaves the subnet by any
 *                                      interface but its bridge
 *
 * Each apply() rewrites these chains whole with one iptables-restore, so
 * running it any number of times leaves exactly one copy of each rule.
 */
import { run } from '../../host/command.js';
import type { Firewall, FirewallNetwork } from './firewall.js';

export class IptablesFirewall implements Firewall {
  private readonly forward: string;
  private readonly isolation1: string;
  private readonly isolation2: string;
  private readonly postrouting: string;

  constructor(prefix: string) {
    this.forward = `${prefix}-FORWARD`;
    this.isolation1 = `${prefix}-ISOLATION-1`;
    this.isolation2 = `${prefix}-ISOLATION-2`;
    this.postrouting = `${prefix}-POSTROUTING`;
  }

  apply(networks: readonly FirewallNetwork[]): void {
    if (networks.length === 0) {
      this.removeAll();
      return;
    }
    run('iptables-restore', ['-w', '--noflush'], { input: this.restoreInput(networks) });
    this.ensureJump('filter', 'FORWARD', this.forward);
    this.ensureJump('nat', 'POSTROUTING', this.postrouting);
  }

  /** The iptables-restore input that makes tbox's chains exactly what these networks need. */
  restoreInput(networks: readonly FirewallNetwork[]): string {
    const comment = (n: FirewallNetwork) => `-m comment --comment "tbox network ${n.name}"`;
    const filter = [
      '*filter',
      `:${this.forward} - [0:0]`,
      `:${this.isolation1} - [0:0]`,
      `:${this.isolation2} - [0:0]`,
      `-A ${this.forward} -j ${this.isolation1}`,
      ...networks.flatMap((n) => [
        `-A ${this.forward} -o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED ${comment(n)} -j ACCEPT`,
        `-A ${this.forward} -i ${n.bridge} -o ${n.bridge} ${comment(n)} -j ACCEPT`,
        `-A ${this.forward} -i ${n.bridge} ! -o ${n.bridge} ${comment(n)} -j ACCEPT`,
        `-A ${this.isolation1} -i ${n.bridge} ! -o ${n.bridge} ${comment(n)} -j ${this.isolation2}`,
        `-A ${this.isolation2} -o ${n.bridge} ${comment(n)} -j DROP`,
      ]),
      'COMMIT',
    ];
    const nat = [
      '*nat',
      `:${this.postrouting} - [0:0]`,
      ...networks.map((n) => `-A ${this.postrouting} -s ${n.subnet} ! -o ${n.bridge} ${comment(n)} -j MASQUERADE`),
      'COMMIT',
    ];
    return [...filter, ...nat].join('\n') + '\n';
  }

  private ensureJump(table: string, from: string, to: string): void {
    const present = run('iptables', ['-w', '-t', table, '-C', from, '-j', to], { allowFailure: true }).code === 0;
    if (!present) run('iptables', ['-w', '-t', table, '-I', from, '1', '-j', to]);
  }

  private removeAll(): void {
    for (const [table, from, to] of [
      ['filter', 'FORWARD', this.forward],
      ['nat', 'POSTROUTING', this.postrouting],
    ] as const) {
      while (run('iptables', ['-w', '-t', table, '-D', from, '-j', to], { allowFailure: true }).code === 0) {
        // a jump added twice by hand is removed too
      }
    }
    const existing = run('iptables-save', [], { allowFailure: true }).stdout;
    const chains = (table: string, names: string[]) => names.filter((c) => existing.includes(`:${c} `)).map((c) => [table, c] as const);
    const doomed = [...chains('filter', [this.forward, this.isolation1, this.isolation2]), ...chains('nat', [this.postrouting])];
    if (doomed.length === 0) return;
    const script = ['filter', 'nat'].flatMap((table) => {
      const mine = doomed.filter(([t]) => t === table).map(([, c]) => c);
      return mine.length === 0 ? [] : [`*${table}`, ...mine.map((c) => `-F ${c}`), ...mine.map((c) => `-X ${c}`), 'COMMIT'];
    });
    run('iptables-restore', ['-w', '--noflush'], { input: script.join('\n') + '\n' });
  }
}
