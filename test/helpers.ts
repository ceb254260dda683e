/**
 * Every test gets its own data root (and, for networking, its own bridge and
 * subnet), and removes what it made even when it fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { execa, execaSync } from 'execa';
import { fileURLToPath } from 'node:url';

export const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cliPath = path.join(repoDir, 'dist', 'cli.js');
/** Test roots live under this prefix so the leak check can find them. */
export const TEST_PREFIX = path.join(os.tmpdir(), 'tbox-test-');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  root: string;
  env: NodeJS.ProcessEnv;
  tbox(args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number }): Result;
  /** For when this test process must keep serving (a proxy) while tbox runs. */
  tboxAsync(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<Result>;
  /** A shell script in the sandbox's network namespace (the host's when it has none). */
  sh(script: string): Result;
  /** The sandbox's own network namespace, if it was made with one. */
  netns?: string;
  cleanup(): void;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeout?: number;
  cwd?: string;
}

/**
 * The suite's process runner (execa): a timeout kills the child with SIGKILL,
 * output is kept whole, and a killed child reads as 128 + its signal.
 */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Result {
  const r = execaSync(cmd, args, { ...runOptions(opts), timeout: opts.timeout ?? 60_000 });
  return asResult(r);
}

/** The same, for when the test process must keep serving (a proxy) while the command runs. */
export async function runAsync(cmd: string, args: string[], opts: RunOptions = {}): Promise<Result> {
  return asResult(await execa(cmd, args, { ...runOptions(opts), timeout: opts.timeout ?? 120_000 }));
}

function runOptions(opts: RunOptions) {
  return {
    input: opts.input,
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    killSignal: 'SIGKILL' as const,
  };
}

function asResult(r: { exitCode?: number; signal?: string; stdout: unknown; stderr: unknown }): Result {
  const code = r.exitCode ?? (r.signal ? 128 + (os.constants.signals[r.signal as NodeJS.Signals] ?? 0) : 128);
  return { code, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

export function sh(script: string): Result {
  return run('sh', ['-c', script]);
}

/**
 * Names and subnets unique among the test processes running at once: vitest
 * gives each worker a pool id, and a worker runs its files one at a time.
 * Everything lives in 10.(100+pool).x.0/24, never tbox0 or 172.16.0.0/16.
 */
const pool = Number(process.env.VITEST_POOL_ID ?? 1) % 100;
let counter = 0;
export function uniqueNet(): { bridge: string; subnet: string; prefix: string; third: number } {
  const n = ++counter;
  if (n > 250) throw new Error('test ran out of subnets');
  return { bridge: `tbt${pool}x${n}`, subnet: `10.${100 + pool}.${n}.0/24`, prefix: `10.${100 + pool}.${n}`, third: n };
}

/**
 * With netns, tbox runs in a network namespace of the sandbox's own: its
 * bridges, rules and sysctls (ip_forward) are out of every other test's way,
 * so a test can break them on purpose.
 */
export function makeSandbox(opts: { netns?: boolean } = {}): Sandbox {
  const root = fs.mkdtempSync(TEST_PREFIX);
  const net = uniqueNet();
  const netns = opts.netns ? `tbt-sb-${pool}x${net.third}` : undefined;
  if (netns && sh(`ip netns add ${netns} && ip -n ${netns} link set lo up`).code !== 0) throw new Error(`netns ${netns}`);
  // Not `ip netns exec`: it remounts all of /sys, cgroups included. Only the links' part of /sys must be the namespace's.
  const netSysfs = (cmd: string, args: string[]): [string, string[]] => [
    'nsenter',
    [`--net=/run/netns/${netns}`, 'unshare', '--mount', '--propagation', 'slave', 'sh', '-c',
     `mkdir -p ${root}/sysfs && mount -t sysfs sysfs ${root}/sysfs && mount --bind ${root}/sysfs/class/net /sys/class/net &&
      mount --bind ${root}/sysfs/devices/virtual/net /sys/devices/virtual/net && exec "$@"`, 'sh', cmd, ...args],
  ]; // prettier-ignore
  const inNetns = (cmd: string, args: string[]): [string, string[]] => (netns ? netSysfs(cmd, args) : [cmd, args]);
  const env = {
    ...process.env,
    TBOX_ROOT: root,
    TBOX_BRIDGE: net.bridge,
    TBOX_BRIDGE_SUBNET: net.subnet,
    TBOX_SUBNET_POOL: `10.${100 + pool}.251.0/24,10.${100 + pool}.252.0/24`,
    TBOX_CHAIN_PREFIX: `TBT${pool}X${net.third}`,
    // the leak check finds any cgroup named *tbox* left behind
    TBOX_CGROUP_PARENT: `tbox-test-${pool}x${net.third}`,
    // docker.io is a closed local port: no test may reach the internet.
    TBOX_HUB_REGISTRY: '127.0.0.1:9',
    TBOX_REGISTRY_MIRROR: '',
  };
  const tbox: Sandbox['tbox'] = (args, opts = {}) =>
    run(...inNetns(process.execPath, [cliPath, ...args]), {
      input: opts.input,
      env: { ...env, ...opts.env },
      timeout: opts.timeout ?? 60_000,
    });
  const tboxAsync = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    runAsync(...inNetns(process.execPath, [cliPath, ...args]), { env: { ...env, ...extraEnv } });
  return {
    root,
    env,
    tbox,
    tboxAsync,
    sh: (script) => run(...inNetns('sh', ['-c', script])),
    netns,
    cleanup() {
      const r = tbox(['system', 'reset', '-f']);
      if (netns) sh(`ip netns del ${netns}`);
      if (r.code !== 0) throw new Error(`cleanup failed: ${r.stderr}`);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Poll until check() holds, or fail after ms. */
export async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every file below dir with its content (or link target): to prove nothing outside a data root changed. */
export function treeSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out[p] = `-> ${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[p] = 'dir';
        walk(p);
      } else out[p] = fs.readFileSync(p, 'utf8');
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** The host's network links, by name. */
export const links = () =>
  run('ip', ['-o', 'link', 'show'])
    .stdout.split('\n')
    .filter(Boolean)
    .map((l) => l.split(': ')[1]!.split('@')[0]!);

/** Pids of live processes whose command line names this path (a data root's shims). */
export function processesOf(root: string): string[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        if (/\) [ZX] /.test(stat)) return false;
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(root);
      } catch {
        return false;
      }
    });
}

/**
 * GET a URL with Node (the host's busybox wget crashes here), optionally from
 * inside a netns; the body on stdout, exit 1 when it fails within 3 s.
 */
export function httpGet(url: string, netns?: string): Result {
  const script = `require("http").get(${JSON.stringify(url)},{timeout:3000},r=>{r.pipe(process.stdout)}).on("timeout",function(){this.destroy(new Error("timeout"))}).on("error",e=>{console.error(e.message);process.exit(1)})`;
  return netns ? run('ip', ['netns', 'exec', netns, process.execPath, '-e', script]) : run(process.execPath, ['-e', script]);
}

/** Send one UDP datagram with Node, optionally from inside a netns. */
export function udpSend(host: string, port: number, text: string, netns?: string): Result {
  const script = `const s=require("dgram").createSocket("udp4");s.send(${JSON.stringify(text)},${port},${JSON.stringify(host)},e=>{if(e)console.error(e.message);s.close();process.exitCode=e?1:0})`;
  return netns ? run('ip', ['netns', 'exec', netns, process.execPath, '-e', script]) : run(process.execPath, ['-e', script]);
}

export interface Upstream {
  ns: string;
  /** the host's address on the link to the upstream namespace */
  hostIp: string;
  upstreamIp: string;
  /** run a shell command inside the upstream namespace */
  exec(script: string): Result;
  remove(): void;
}

/**
 * "Outside": a netns of the test's own behind a veth, routed from the host.
 * Traffic never leaves the machine.
 */
export function makeUpstream(): Upstream {
  const up = uniqueNet();
  const ns = `tbt-up-${up.bridge}`;
  const hostSide = `${up.bridge}u`;
  const [hostIp, upstreamIp] = [`${up.prefix}.1`, `${up.prefix}.2`];
  const remove = () => sh(`ip link del ${hostSide} 2>/dev/null; ip netns del ${ns} 2>/dev/null`);
  const made = sh(`ip netns add ${ns} && ip link add ${hostSide} type veth peer name eth0 netns ${ns} &&
      ip addr add ${hostIp}/30 dev ${hostSide} && ip link set ${hostSide} up &&
      ip -n ${ns} addr add ${upstreamIp}/30 dev eth0 && ip -n ${ns} link set eth0 up && ip -n ${ns} link set lo up`);
  if (made.code !== 0) {
    remove();
    throw new Error(`upstream netns: ${made.stderr}`);
  }
  return { ns, hostIp, upstreamIp, exec: (script) => run('ip', ['netns', 'exec', ns, 'sh', '-c', script]), remove };
}

/**
 * What tcpdump sees on an interface while `action` runs: the first packet
 * matching `filter`, or '' if none came within ms. For traffic no busybox
 * applet can serve (this busybox's nc has no UDP).
 */
export async function capture(iface: string, filter: string, action: () => void, ms = 1500): Promise<string> {
  // node's own spawn: through execa, a capture that matched nothing read '\n', not ''
  const dump = spawn('tcpdump', ['-i', iface, '-n', '-l', '-c', '1', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  dump.stdout.on('data', (d: Buffer) => (out += d));
  // tcpdump says "listening on ..." once its capture is attached.
  await new Promise((r) => dump.stderr.once('data', r));
  action();
  const deadline = Date.now() + ms;
  while (!out && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  dump.kill();
  return out;
}
