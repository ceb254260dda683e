/**
 * `tbox --explain`: every change tbox makes to the host, in the order made,
 * as the plain command a person would type, with one line of why in the
 * container-networking article's terms. It is fed by the one place host
 * commands run (command.ts) and by the shim's report of what it does itself,
 * so it cannot drift from what is really done, and it changes nothing.
 */

let explaining = false;

export function setExplain(on: boolean): void {
  explaining = on;
}
export const isExplaining = () => explaining;

/** The why of a command, by what it does: first match wins. */
const WHY: [RegExp, string][] = [
  [/^unshare /, 'new namespaces: the container gets its own mounts, hostname, IPC, process ids and network stack'],
  [
    /tbox-shim --unshare /,
    "the container's monitor: it makes the namespaces, builds the root, starts pid 1 and waits for it (its steps follow)",
  ],
  [/ip link add name \S+ type bridge/, 'bridge: a virtual switch on the host; every container plugs its veth into it'],
  [/ip link set \S+ alias /, "the bridge's owner (this data root), so no other tbox takes it"],
  [/ip addr add \S+ .*dev eth0/, "the container's address, on its end of the veth pair (clink)"],
  [/ip addr add \S+ dev \S+/, "the bridge's address: the containers' default gateway"],
  [/ip link add \S+ type veth peer name eth0/, 'veth pair: hlink on the host, clink (eth0) born inside the container'],
  [/ip link set \S+ master /, 'plug the host end of the veth pair (hlink) into the bridge'],
  [/hairpin on/, 'hairpin: the bridge may send a frame back out its port, so a container reaches its own published port'],
  [/ip link set eth0 up/, "bring the container's end of the veth up"],
  [/ip link set \S+ up/, 'bring the link up'],
  [/ip route add default via /, "default gateway: traffic for anything off the subnet goes to the bridge's address"],
  [/ip link set lo up/, 'loopback up inside the container (a new network namespace starts with lo down)'],
  [/ip link del /, 'remove the link (a veth pair goes as a whole)'],
  [/ip_forward/, 'ip_forward: let the host route packets between the bridge and its other interfaces'],
  [/route_localnet/, 'route_localnet: a port published on 127.0.0.1 may be forwarded to the bridge'],
  [
    /-j MASQUERADE.*-s 127\.0\.0\.0\/8|-s 127\.0\.0\.0\/8.*-j MASQUERADE/,
    'MASQUERADE: a connection from 127.0.0.1 to a published port leaves with the bridge address',
  ],
  [/-HAIRPIN .*-j MASQUERADE/, 'MASQUERADE: a container reaching its own published port sees the gateway as the client'],
  [/-j MASQUERADE/, "MASQUERADE (NAT): traffic leaving the subnet goes out with the host's address, so replies find their way back"],
  [/-j DNAT/, 'DNAT: a published port on the host is rewritten to the container address and port'],
  [/-PORTS .*-j ACCEPT/, 'accept the forwarded connection to the published port'],
  [/-j \S+-PORTS$/, 'published ports are accepted here, before the per-network rules'],
  [/-j \S+-HAIRPIN$/, 'a container reaching its own published port is masqueraded here'],
  [/-ISOLATION/, 'isolation: traffic from one tbox network to another is dropped'],
  [/--ctstate RELATED,ESTABLISHED.*-j ACCEPT/, 'let replies come back in to the containers'],
  [/-i (\S+) -o \1 .*-j ACCEPT/, 'containers on the same bridge reach each other (br_netfilter sends bridged frames through FORWARD)'],
  [/-i \S+ ! -o \S+ .*-j ACCEPT/, 'containers may go out through the host'],
  [/-d 127\.0\.0\.0\/8 .*-j DROP/, "containers may not open connections to the host's 127.0.0.0/8"],
  [/-I (FORWARD|INPUT|OUTPUT|PREROUTING|POSTROUTING) /, "jump from the kernel's chain into tbox's own"],
  [/iptables (-t \S+ )?-[NF] /, "a chain of tbox's own, so its rules can be listed and removed as a whole"],
  [/iptables (-t \S+ )?-X /, "remove tbox's chain"],
  [/iptables (-t \S+ )?-D /, 'remove the rule'],
  [/\/sys\/fs\/cgroup\/.*cgroup\.procs/, "move the process into the container's cgroup"],
  [/mkdir .*\/sys\/fs\/cgroup\//, "cgroup: the container's processes are counted and limited together"],
  [/rmdir .*\/sys\/fs\/cgroup\//, "remove the container's cgroup"],
  [/\/sys\/fs\/cgroup\//, 'a cgroup limit'],
];

export function whyOf(command: string): string {
  return WHY.find(([re]) => re.test(command))?.[1] ?? '';
}

/** Print one host change: the command, then its why. */
export function explainStep(command: string, why = whyOf(command)): void {
  if (!explaining) return;
  process.stderr.write(`$ ${command}\n${why ? `    # ${why}\n` : ''}`);
}

/** A step the shim reports doing itself (mostly pid 1, before exec): marked, as it is not a host command to replay. */
export function explainShimStep(command: string, why: string): void {
  if (!explaining) return;
  process.stderr.write(`  [tbox-shim] ${command}\n${why ? `    # ${why}\n` : ''}`);
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
export const shellLine = (cmd: string, args: readonly string[]) => [cmd, ...args].map(quote).join(' ');

/** Whether a command only reads (ip ... show, iptables-save, iptables -C): those are not explained. */
function readsOnly(cmd: string, args: readonly string[]): boolean {
  if (cmd === 'iptables-save') return true;
  if (cmd === 'iptables') return args.includes('-C') || args.includes('-L') || args.includes('-S');
  if (cmd === 'ip') return args.includes('-j') || args.some((a) => a === 'show' || a === 'get' || a === 'list');
  return false;
}

/**
 * iptables-restore input as the iptables commands it stands for: one
 * `iptables -t TABLE ...` per rule, `-N`/`-F` for a declared chain.
 */
function restoreAsCommands(input: string): string[] {
  let table = 'filter';
  const out: string[] = [];
  for (const line of input.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':')) out.push(`iptables -t ${table} -N ${line.slice(1).split(' ')[0]}`);
    else if (line.startsWith('-')) out.push(`iptables -t ${table} ${line}`);
  }
  return out;
}

/** Explain a host command as it runs: each batch line, each restore rule, on its own. */
export function explainCommand(cmd: string, args: readonly string[], input?: string): void {
  if (!explaining || readsOnly(cmd, args)) return;
  if (cmd === 'iptables-restore' && input) restoreAsCommands(input).forEach((c) => explainStep(c));
  else if (cmd === 'ip' && args[0] === '-batch' && input) {
    input
      .split('\n')
      .filter(Boolean)
      .forEach((l) => explainStep(`ip ${l}`));
  } else if (cmd === 'nsenter' && args.includes('-batch') && input) {
    const ns = args.find((a) => a.startsWith('--net='));
    input
      .split('\n')
      .filter(Boolean)
      .forEach((l) => explainStep(`nsenter ${ns} ip ${l}`));
  } else explainStep(shellLine(cmd, args));
}
