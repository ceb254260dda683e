/**
 * Every host command tbox runs (ip, nft, iptables, unshare, nsenter, mount...)
 * goes through this module, so that `--debug` shows all of them, batching
 * lives in one place, and a missing tool gets one clear error.
 *
 * It uses node:child_process rather than execa: importing execa costs ~110 ms
 * on this class of machine, more than Node's own start-up, and `tbox run`
 * pays every millisecond of its imports.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { HostToolMissingError, TboxError } from '../errors.js';

/** Debian package that provides each tool we call, for the install hint. */
const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2',
  bridge: 'iproute2',
  nft: 'nftables',
  iptables: 'iptables',
  'iptables-save': 'iptables',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  busybox: 'busybox-static',
  tar: 'tar',
  sh: 'dash',
  sysctl: 'procps',
  setfattr: 'attr',
  skopeo: 'skopeo',
};

let debug = process.env.TBOX_DEBUG === '1';
export function setDebug(on: boolean): void {
  debug = on;
}

function trace(cmd: string, args: readonly string[], input?: string): void {
  if (!debug) return;
  const quoted = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
  process.stderr.write(`+ ${[cmd, ...quoted].join(' ')}\n`);
  if (input) process.stderr.write(input.replace(/^/gm, '  | ') + (input.endsWith('\n') ? '' : '\n'));
}

export function missingTool(cmd: string): HostToolMissingError {
  const pkg = PACKAGE_OF[cmd];
  return new HostToolMissingError(`${cmd} not found${pkg ? `: apt-get install ${pkg}` : ' on PATH'}`);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Run a host command to completion and capture its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  trace(cmd, args, opts.input);
  const r = spawnSync(cmd, args, {
    input: opts.input,
    encoding: 'utf8',
    env: opts.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw missingTool(cmd);
    throw new TboxError(`${cmd}: ${r.error.message}`);
  }
  const result = { code: r.status ?? 128 + 9, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (result.code !== 0 && !opts.allowFailure) {
    const detail = (result.stderr || result.stdout).trim().split('\n')[0] ?? '';
    throw new TboxError(`${cmd} ${args.slice(0, 3).join(' ')} failed: ${detail}`);
  }
  return result;
}

/**
 * `ip -batch -`: many ip operations in one process; with `netnsOf`, inside
 * that process's network namespace (through nsenter, as the article does).
 */
export function ipBatch(lines: readonly string[], opts: { netnsOf?: number } = {}): RunResult {
  const input = lines.join('\n') + '\n';
  if (opts.netnsOf === undefined) return run('ip', ['-batch', '-'], { input });
  return run('nsenter', [`--net=/proc/${opts.netnsOf}/ns/net`, 'ip', '-batch', '-'], { input });
}

/**
 * Find a tool on tbox's own PATH. Needed when a child gets another
 * environment (a container's), whose PATH would otherwise be searched.
 */
export function resolveTool(cmd: string): string {
  if (cmd.includes('/')) return cmd;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const candidate = path.join(dir, cmd);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw missingTool(cmd);
}

/** Start a long-lived host process (the container's unshare + shim). */
export function start(cmd: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  trace(cmd, args);
  return spawn(opts.env ? resolveTool(cmd) : cmd, args, opts);
}
