/**
 * Turns `tbox run` flags plus the image config into the container's spec,
 * following Docker's rules for Entrypoint, Cmd, Env and WorkingDir.
 */
import fs from 'node:fs';
import net from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import type { ImageRecord } from '../state/images.js';
import type { ContainerMount, ContainerSecurity, ContainerSpec } from '../state/containers.js';
import { exposedKeys, parseExposed, resolvePublished, type PortMapping } from '../network/ports.js';
import { effectiveCaps } from './security/capabilities.js';
import { parseSecurityOpts } from './security/options.js';
import { parseDevice } from './security/devices.js';
import { parseResources, type ResourceFlags } from './cgroups/resources.js';
import { parseSignal } from './signals.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunFlags {
  cmd: string[];
  /** undefined: the image's; '': none. */
  entrypoint?: string;
  env: string[];
  envFiles: string[];
  workdir?: string;
  hostname: string;
  network: string;
  tty: boolean;
  interactive: boolean;
  user?: string;
  /** The user's home from the image's passwd, for HOME (Docker sets it so). */
  home?: string;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  devices?: string[];
  resources?: ResourceFlags;
  /** -p, -P, --expose */
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  /** resolved -v, --mount, --tmpfs, --volumes-from (see mounts.ts) */
  mounts?: ContainerMount[];
  readOnly?: boolean;
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  addHost?: string[];
  networkAlias?: string[];
  /** --label KEY=VAL */
  labels?: string[];
  stopSignal?: string;
  stopTimeout?: number;
  ulimit?: string[];
  init?: boolean;
}

/** Docker's --ulimit names, as RLIMIT_ types. */
const ULIMITS = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
];

/** --ulimit NAME=SOFT[:HARD], -1 for unlimited; the soft limit may not pass the hard one. */
export function parseUlimits(flags: string[]): { type: string; soft: number; hard: number }[] {
  return flags.map((flag) => {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(flag);
    if (!m || !ULIMITS.includes(m[1]!)) {
      throw new InvalidArgumentError(`invalid --ulimit "${flag}": NAME=SOFT[:HARD], NAME one of ${ULIMITS.join(', ')}`);
    }
    const soft = Number(m[2]);
    const hard = m[3] === undefined ? soft : Number(m[3]);
    const limit = (n: number) => (n < 0 ? Infinity : n);
    if (limit(soft) > limit(hard)) throw new InvalidArgumentError(`invalid --ulimit "${flag}": the soft limit is above the hard one`);
    return { type: `RLIMIT_${m[1]!.toUpperCase()}`, soft, hard };
  });
}

/** The image's labels, then --label, later ones winning (as Docker merges them). */
function mergeLabels(image: Record<string, string> | undefined, flags: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  // hostile input: only string values of the image's labels are kept
  for (const [k, v] of Object.entries(image ?? {})) if (typeof v === 'string') labels[k] = v;
  for (const entry of flags) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '') throw new InvalidArgumentError(`invalid label "${entry}": KEY=VALUE`);
    labels[key] = eq < 0 ? '' : entry.slice(eq + 1);
  }
  return labels;
}

/** The image's ExposedPorts keys that parse; it is hostile input, and a key that does not parse exposes nothing. */
function imageExposedPorts(cfg: NonNullable<ImageRecord['config']['config']>): string[] {
  return Object.keys(cfg.ExposedPorts ?? {}).filter((key) => {
    try {
      parseExposed(key);
      return true;
    } catch {
      return false;
    }
  });
}

/** -p and -P; on the host's network or none there is nothing to forward, and Docker drops them with a warning. */
function publishedPorts(flags: RunFlags, imageExposed: string[]): PortMapping[] {
  const ports = resolvePublished(flags.publish ?? [], flags.publishAll ?? false, [...imageExposed, ...(flags.expose ?? [])]);
  if (ports.length > 0 && (flags.network === 'host' || flags.network === 'none')) {
    process.stderr.write(`WARNING: Published ports are discarded when using ${flags.network} network mode\n`);
    return [];
  }
  return ports;
}

const HOST_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,253})$/;

/** --add-host NAME:IP (host-gateway: the network's gateway, filled in at start), --dns*, --network-alias. */
function nameFlags(flags: RunFlags): Pick<ContainerSpec, 'dns' | 'extraHosts' | 'aliases'> {
  const extraHosts = (flags.addHost ?? []).map((entry) => {
    const at = entry.indexOf(':');
    const [name, ip] = at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
    if (!HOST_NAME.test(name) || !(ip === 'host-gateway' || net.isIP(ip))) {
      throw new InvalidArgumentError(`invalid --add-host "${entry}": expected NAME:IP (or NAME:host-gateway)`);
    }
    return `${name}:${ip}`;
  });
  for (const server of flags.dns ?? []) {
    if (!net.isIP(server)) throw new InvalidArgumentError(`invalid --dns "${server}": an IP address`);
  }
  for (const word of [...(flags.dnsSearch ?? []), ...(flags.dnsOption ?? [])]) {
    if (!/^[\w.:-]+$/.test(word)) throw new InvalidArgumentError(`invalid --dns-search or --dns-option "${word}"`);
  }
  for (const alias of flags.networkAlias ?? []) {
    if (!HOST_NAME.test(alias)) throw new InvalidArgumentError(`invalid --network-alias "${alias}": letters, digits, '_', '.', '-'`);
  }
  const dns = flags.dns?.length || flags.dnsSearch?.length || flags.dnsOption?.length;
  return {
    extraHosts,
    aliases: flags.networkAlias ?? [],
    ...(dns ? { dns: { servers: flags.dns ?? [], search: flags.dnsSearch ?? [], options: flags.dnsOption ?? [] } } : {}),
  };
}

/** --cap-add, --cap-drop, --privileged, --security-opt and --device, checked and resolved now, as Docker does at create. */
export function buildSecurity(flags: Pick<RunFlags, 'capAdd' | 'capDrop' | 'privileged' | 'securityOpt' | 'devices'>): ContainerSecurity {
  const privileged = flags.privileged ?? false;
  const opts = parseSecurityOpts(flags.securityOpt ?? []);
  return {
    caps: effectiveCaps({ capAdd: flags.capAdd ?? [], capDrop: flags.capDrop ?? [], privileged }),
    privileged,
    noNewPrivileges: opts.noNewPrivileges,
    // --privileged turns seccomp off, as in Docker.
    seccomp: privileged ? 'unconfined' : opts.seccomp,
    devices: (flags.devices ?? []).map(parseDevice),
  };
}

function parseEnvFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(
      `--env-file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** KEY=VAL sets; a bare KEY copies the host's value, or is dropped if unset (as Docker does). */
export function resolveEnvEntry(entry: string): string | undefined {
  const eq = entry.indexOf('=');
  const key = eq < 0 ? entry : entry.slice(0, eq);
  if (!/^[^=\s]+$/.test(key)) throw new InvalidArgumentError(`invalid environment variable: "${entry}"`);
  if (eq >= 0) return entry;
  const host = process.env[key];
  return host === undefined ? undefined : `${key}=${host}`;
}

/** Later layers win, key by key, keeping first-seen order. */
export function mergeEnv(layers: string[][]): string[] {
  const merged = new Map<string, string>();
  for (const layer of layers) for (const e of layer) merged.set(e.slice(0, e.indexOf('=')), e);
  return [...merged.values()];
}

/** --stop-signal, else the image's StopSignal, else SIGTERM; checked now so stop cannot fail on it later. */
function stopSignalOf(flag: string | undefined, image: unknown): string {
  const given = flag && flag !== 'SIGTERM' ? flag : typeof image === 'string' && image ? image : 'SIGTERM';
  parseSignal(given);
  return given;
}

function stopTimeoutOf(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < -1)
    throw new InvalidArgumentError(`invalid --stop-timeout "${seconds}": whole seconds, or -1`);
  return seconds;
}

export function buildSpec(image: ImageRecord, flags: RunFlags): ContainerSpec {
  const cfg = image.config.config ?? {};
  // Docker: a new --entrypoint also drops the image's Cmd.
  const entrypoint = flags.entrypoint === undefined ? (cfg.Entrypoint ?? []) : flags.entrypoint === '' ? [] : [flags.entrypoint];
  const cmd = flags.cmd.length > 0 ? flags.cmd : flags.entrypoint === undefined ? (cfg.Cmd ?? []) : [];
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new InvalidArgumentError('no command specified: give one after the image name');

  const cwd = flags.workdir ?? (cfg.WorkingDir || '/');
  if (!cwd.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory '${cwd}' is invalid: it needs to be an absolute path`);
  }
  const user = [...flags.envFiles.flatMap(parseEnvFile), ...flags.env].map(resolveEnvEntry).filter((e): e is string => e !== undefined);
  const imageExposed = imageExposedPorts(cfg);
  const ports = publishedPorts(flags, imageExposed);
  const base = [DEFAULT_PATH, `HOSTNAME=${flags.hostname}`, `HOME=${flags.home || '/root'}`, ...(flags.tty ? ['TERM=xterm'] : [])];
  return {
    args,
    env: mergeEnv([base, cfg.Env ?? [], user]),
    cwd,
    hostname: flags.hostname,
    network: flags.network,
    tty: flags.tty,
    interactive: flags.interactive,
    user: flags.user || cfg.User || undefined,
    security: buildSecurity(flags),
    resources: parseResources(flags.resources ?? {}),
    ports,
    exposed: exposedKeys(imageExposed, flags.expose ?? [], ports),
    mounts: flags.mounts ?? [],
    readOnly: flags.readOnly ?? false,
    labels: mergeLabels(cfg.Labels, flags.labels ?? []),
    ulimits: parseUlimits(flags.ulimit ?? []),
    init: flags.init ?? false,
    stopSignal: stopSignalOf(flags.stopSignal, cfg.StopSignal),
    ...(flags.stopTimeout !== undefined ? { stopTimeout: stopTimeoutOf(flags.stopTimeout) } : {}),
    ...nameFlags(flags),
  };
}
