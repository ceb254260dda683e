/**
 * Turns `tbox run` flags plus the image config into the container's spec,
 * following Docker's rules for Entrypoint, Cmd, Env and WorkingDir.
 */
import fs from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import type { ImageRecord } from '../state/images.js';
import type { ContainerSecurity, ContainerSpec } from '../state/containers.js';
import { effectiveCaps } from './security/capabilities.js';
import { parseSecurityOpts } from './security/options.js';
import { parseDevice } from './security/devices.js';
import { parseResources, type ResourceFlags } from './cgroups/resources.js';

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
  };
}
