/**
 * Every host command tbox runs (ip, iptables, unshare, nsenter, sh, env)
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
import { explainCommand, explainStep, shellLine } from './explain.js';

/** Debian package that provides each tool tbox runs, for the install hint. */
const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2',
  iptables: 'iptables',
  'iptables-save': 'iptables',
  'iptables-restore': 'iptables',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  sh: 'dash',
  env: 'coreutils',
  setfattr: 'attr',
};

/**
 * The environment of every host process tbox starts: PATH and nothing else.
 * Neither the user's nor, above all, a container's environment may reach a
 * host tool: an image's LD_PRELOAD would run its code as root on the host.
 * The container's environment travels to the shim as a file, applied only
 * right before exec inside the container.
 */
export function hostEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
}

let debug = process.env.TBOX_DEBUG === '1';
export function setDebug(on: boolean): void {
  debug = on;
}
export const isDebug = () => debug;

function trace(cmd: string, args: readonly string[], input?: string): void {
  explainCommand(cmd, args, input);
  if (!debug) return;
  process.stderr.write(`+ ${shellLine(cmd, args)}\n`);
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
  /** Added to hostEnv(): tbox's own values only, never a container's. */
  extraEnv?: Record<string, string>;
}

/** Run a host command to completion and capture its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  trace(cmd, args, opts.input);
  const r = spawnSync(cmd, args, {
    input: opts.input,
    encoding: 'utf8',
    env: { ...hostEnv(), ...opts.extraEnv },
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

/** A network namespace: a process's (its pid) or a netns file (/run/netns/NAME). */
export type NetnsRef = number | string;

/** `ip ARGS`, in the given network namespace (through nsenter, as the article does) or the host's. */
function ip(args: readonly string[], netns: NetnsRef | undefined, opts: RunOptions): RunResult {
  if (netns === undefined) return run('ip', args, opts);
  const file = typeof netns === 'number' ? `/proc/${netns}/ns/net` : netns;
  return run('nsenter', [`--net=${file}`, 'ip', ...args], opts);
}

/**
 * `ip -j ...` read as JSON: a list of links, addresses, routes or neighbours,
 * in `netns` if given. A failed command (no such device, no route) reads as
 * an empty list.
 */
export function ipJson<T>(args: readonly string[], opts: { netns?: NetnsRef } = {}): T[] {
  const r = ip(['-j', ...args], opts.netns, { allowFailure: true });
  try {
    return r.code === 0 ? (JSON.parse(r.stdout || '[]') as T[]) : [];
  } catch {
    return [];
  }
}

/** `ip -batch -`: many ip operations in one process, in `netns` if given. */
export function ipBatch(lines: readonly string[], opts: { netns?: NetnsRef } = {}): RunResult {
  return ip(['-batch', '-'], opts.netns, { input: lines.join('\n') + '\n' });
}

/**
 * Write a kernel setting (/proc/sys, /sys/class/net): the one host change
 * that is a file write rather than a command, traced like one.
 */
export function writeKernelFile(file: string, value: string): void {
  announceWrite(file, value);
  fs.writeFileSync(file, value);
}

/** The same, without waiting (a cgroup attach overlaps other work). */
export function writeKernelFileAsync(file: string, value: string): Promise<void> {
  announceWrite(file, value);
  return fs.promises.writeFile(file, value);
}

/** A directory in a kernel file system (a cgroup). */
export function makeKernelDir(dir: string): void {
  if (fs.existsSync(dir)) return;
  explainStep(`mkdir -p ${dir}`);
  if (debug) process.stderr.write(`+ mkdir -p ${dir}\n`);
  fs.mkdirSync(dir, { recursive: true });
}

/**
 * rmdir a kernel directory (a cgroup), waiting a little for exiting
 * processes to leave: the kernel empties a cgroup asynchronously. False if
 * it stayed busy.
 */
export function removeKernelDir(dir: string, waitMs = 1000): boolean {
  if (!fs.existsSync(dir)) return true;
  explainStep(`rmdir ${dir}`);
  if (debug) process.stderr.write(`+ rmdir ${dir}\n`);
  for (let i = 0; i <= waitMs; i++) {
    try {
      fs.rmdirSync(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  return false;
}

/** What a kernel file write is, as a person would type it: sysctl for /proc/sys, ip for a link's alias. */
function announceWrite(file: string, value: string): void {
  const sysctl = /^\/proc\/sys\/(.*)$/.exec(file);
  const alias = /^\/sys\/class\/net\/([^/]+)\/ifalias$/.exec(file);
  const command = sysctl
    ? `sysctl -w ${sysctl[1]!.replace(/\//g, '.')}=${value}`
    : alias
      ? shellLine('ip', ['link', 'set', alias[1]!, 'alias', value])
      : `echo ${shellLine(value, [])} > ${file}`;
  explainStep(command);
  if (debug) process.stderr.write(`+ ${command}\n`);
}

/** A tool's absolute path on tbox's PATH, for a program that execs it without a search (the shim's exit hook). */
export function resolveTool(cmd: string): string {
  for (const dir of (hostEnv().PATH ?? '').split(':')) {
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

/** Start a long-lived host process (a container's unshare + shim, exec's shim), with tbox's own environment. */
export function start(cmd: string, args: readonly string[], opts: Omit<SpawnOptions, 'env'>): ChildProcess {
  trace(cmd, args);
  return spawn(cmd, args, { ...opts, env: hostEnv() });
}

/**
 * An OCI hook: the engine's program with the engine's argv[0], environment
 * and timeout (runtime-spec "POSIX-platform Hooks"), the container's state
 * on stdin. Not hostEnv(): the hook's env is what the engine set for it.
 */
export function runHook(hook: { path: string; args?: string[]; env?: string[]; timeout?: number }, state: string): RunResult {
  trace(hook.path, hook.args?.slice(1) ?? [], state);
  const env = Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const r = spawnSync(hook.path, hook.args?.slice(1) ?? [], {
    argv0: hook.args?.[0] ?? hook.path,
    env,
    input: state,
    encoding: 'utf8',
    timeout: hook.timeout ? hook.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
  });
  if (r.error) throw new TboxError(`hook ${hook.path}: ${r.error.message}`);
  return { code: r.status ?? 128 + 9, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
