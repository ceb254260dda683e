/**
 * Starts a container's process tree:
 *
 *   unshare --mount --uts --ipc --pid [--net] -- tbox-shim ... -- CMD
 *
 * and follows the shim's report pipe (see src/shim/main.c) so the caller
 * learns pid 1's host pid, whether CMD could be exec'd, and its exit code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { start, writeKernelFileAsync } from '../host/command.js';
import { explainShimStep, isExplaining } from '../host/explain.js';
import { shimPath, containerDir, exitFilePath, logPath } from '../paths.js';
import { TboxError, EXIT_TBOX } from '../errors.js';
import { buildOciSpec, seccompRulesPath, SEED_OPTION, writeOciSpec, type OciMount, type OciSpec } from './oci.js';
import { capMask, capsOfMask } from './security/capabilities.js';
import type { ContainerRecord } from '../state/containers.js';
import { hostIpOf, type PortBinding } from '../state/ports.js';

export interface LaunchOptions {
  lowerDirs: string[];
  /** the container's cgroup: pid 1 is moved into it while it builds its root, before exec */
  cgroupDirs: string[];
  stdio: 'inherit' | 'detached';
  user?: { uid: number; gid: number };
  /** Run after the container exits, by the shim, even with no tbox CLI left (detached containers). */
  onExit?: string[];
  /** host ports the monitor holds bound while the container runs (see src/shim/ports.c) */
  publish?: PortBinding[];
  /** --network container:X: the pid whose network namespace it joins */
  netnsPid?: number;
}

export interface Launched {
  child: ChildProcess;
  shimPid: number;
  /** Host pid of the container's pid 1. */
  pid: number;
  /** Let pid 1 exec CMD; resolves when it did, rejects with its exit code if it could not. */
  release(): Promise<void>;
  /** Make pid 1 give up before exec (only while held). */
  abort(): void;
  /** Why pid 1 could not start, once the shim said so (not the abort tbox sent it). */
  failure(): StartError | undefined;
  /** Resolves with the container's exit code. */
  exited: Promise<number>;
}

const envFilePath = (id: string) => path.join(containerDir(id), 'env');

/** The container's environment as the shim reads it: KEY=VAL entries, each ending in NUL. */
export const envFileText = (env: readonly string[]) => env.map((e) => `${e}\0`).join('');

export class StartError extends TboxError {}

/** config.json's namespace types as the shim names them (--unshare takes unshare(1)'s names, --setns TYPE:PATH). */
const SHIM_NS_NAME: Record<string, string> = { mount: 'mount', uts: 'uts', ipc: 'ipc', pid: 'pid', network: 'net', cgroup: 'cgroup' };

/** config.json's linux.namespaces: the shim makes those without a path (unshare(2)) and joins those with one (setns(2)). */
export function namespaceArgs(spec: OciSpec): string[] {
  const name = (type: string) => {
    const n = SHIM_NS_NAME[type];
    if (!n) throw new TboxError(`the ${type} namespace is not supported by tbox`);
    return n;
  };
  const made = spec.linux.namespaces.filter((n) => !n.path).map((n) => name(n.type));
  const joined = spec.linux.namespaces.filter((n) => n.path).flatMap((n) => ['--setns', `${name(n.type)}:${n.path}`]);
  return [...(made.length ? ['--unshare', made.join(',')] : []), ...joined];
}

/** /dev and /dev/shm are tmpfs the shim makes itself (rootfs.c); any other tmpfs in config.json is the user's. */
const SHIM_TMPFS = new Set(['/dev', '/dev/shm']);

/** Mount types the shim makes itself at the standard places (rootfs.c). */
const KERNEL_FS = new Set(['proc', 'sysfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2']);

/** Options that are no tmpfs data: propagation (every mount is private in the container's mount namespace) and runc's copy-up. */
const NOT_TMPFS_DATA = /^(r?(private|shared|slave|unbindable)|(no)?tmpcopyup)$/;

/** A bind by its type, or (as engines write it) by its options with no type. */
const isBind = (m: OciMount) =>
  m.type === 'bind' || ((!m.type || m.type === 'none') && !!m.options?.some((o) => o === 'bind' || o === 'rbind'));

/** config.json's binds and tmpfs (the shim makes the kernel file systems itself), --device nodes, nodev and a read-only root. */
export function mountArgs(spec: OciSpec): string[] {
  const dev = spec.mounts.find((m) => m.destination === '/dev');
  const bindFlags = (m: OciMount) =>
    [m.options?.includes('ro') ? 'ro' : 'rw', ...(m.options?.includes(SEED_OPTION) ? ['seed'] : [])].join(',');
  return [
    ...spec.mounts.flatMap((m) => {
      if (isBind(m)) return ['--volume', m.source!, m.destination, bindFlags(m)];
      if (m.type === 'tmpfs') {
        if (SHIM_TMPFS.has(m.destination)) return [];
        return ['--tmpfs', m.destination, (m.options ?? []).filter((o) => !NOT_TMPFS_DATA.test(o)).join(',')];
      }
      if (m.type && KERNEL_FS.has(m.type)) return [];
      throw new TboxError(
        `mount of type ${m.type ?? '(none)'} at ${m.destination} is not supported: use bind, tmpfs or a kernel file system`,
      );
    }),
    ...(spec.root.readonly ? ['--read-only'] : []),
    ...spec.linux.devices.flatMap((d) => ['--device', d.hostPath ?? d.path, d.path]),
    ...(dev?.options?.includes('nodev') ? ['--nodev'] : []),
  ];
}

/** process.capabilities, noNewPrivileges and linux.seccomp as shim flags: what every process of the container gets (exec too). */
export function processConfinementArgs(spec: OciSpec, seccompRules: string): string[] {
  const caps = spec.process.capabilities;
  const masks = [caps.bounding, caps.effective, caps.permitted, caps.inheritable, caps.ambient].map(capMask).join(',');
  return [
    '--caps',
    masks,
    ...(spec.process.noNewPrivileges ? ['--no-new-privs'] : []),
    ...(spec.process.rlimits ?? []).flatMap((r) => ['--rlimit', `${r.type}:${r.soft}:${r.hard}`]),
    // linux.seccomp in the shim's form (shimRules), in a file of the caller's
    ...(spec.linux.seccomp ? ['--seccomp', seccompRules] : []),
  ];
}

/** The process's confinement, and the masked and read-only paths pid 1 sets up once. */
export function confinementArgs(spec: OciSpec, seccompRules: string): string[] {
  return [
    ...processConfinementArgs(spec, seccompRules),
    ...spec.linux.maskedPaths.flatMap((p) => ['--mask', p]),
    ...spec.linux.readonlyPaths.flatMap((p) => ['--readonly', p]),
    ...(spec.annotations['io.tbox.init'] === 'true' ? ['--init'] : []),
  ];
}

export function launch(c: ContainerRecord, opts: LaunchOptions): Promise<Launched> {
  const dir = containerDir(c.id);
  const spec = buildOciSpec(c, opts.user, opts.netnsPid);
  writeOciSpec(c.id, spec);
  const newNetns = spec.linux.namespaces.some((n) => n.type === 'network' && !n.path);
  fs.writeFileSync(envFilePath(c.id), envFileText(spec.process.env), { mode: 0o600 });
  const shimArgs = [
    '--rootfs',
    spec.root.path,
    '--lower',
    opts.lowerDirs.join(':'),
    '--upper',
    path.join(dir, 'upper'),
    '--work',
    path.join(dir, 'work'),
    '--hostname',
    spec.hostname,
    '--cwd',
    spec.process.cwd,
    ...(spec.process.user.uid !== 0 || spec.process.user.gid !== 0 ? ['--user', `${spec.process.user.uid}:${spec.process.user.gid}`] : []),
    '--env-file',
    envFilePath(c.id),
    '--exit-file',
    exitFilePath(c.id),
    '--report-fd',
    '3',
    // pid 1 waits before exec until release(): the network is in, the state is written.
    '--sync-fd',
    '4',
    // --explain: the shim reports the steps it takes itself
    ...(isExplaining() ? ['--explain-fd', '5'] : []),
    ...(newNetns ? ['--loopback-up'] : []),
    '--log',
    logPath(c.id),
    // In the foreground the shim also copies the output to our terminal.
    ...(opts.stdio === 'inherit' ? ['--tee'] : []),
    ...(spec.process.terminal ? ['--tty'] : []),
    ...(spec.process.terminal && c.spec.interactive && opts.stdio === 'inherit' ? ['--interactive'] : []),
    ...(opts.onExit ?? []).flatMap((a) => ['--on-exit', a]),
    ...(opts.publish ?? []).flatMap((p) => ['--publish', `${p.proto}:${hostIpOf(p)}:${p.hostPort}`]),
    ...mountArgs(spec),
    ...confinementArgs(spec, seccompRulesPath(c.id)),
    '--',
    ...spec.process.args,
  ];
  const nsArgs = namespaceArgs(spec);

  const stdio: StdioOptions = [
    ...(opts.stdio === 'inherit' ? [c.spec.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit'] : ['ignore', 'ignore', 'ignore']),
    'pipe',
    'pipe',
    ...(isExplaining() ? ['pipe'] : []),
  ] as StdioOptions;

  const child = start(shimPath, [...nsArgs, ...shimArgs], {
    stdio,
    detached: opts.stdio === 'detached',
  });

  if (isExplaining()) {
    createInterface({ input: (child.stdio as unknown as Readable[])[5]! }).on('line', (line) => {
      const [command = '', why = ''] = line.split('\t');
      // The shim knows capabilities as masks; the reader, by name (only on that line: mount options have '=' too).
      const named = command.startsWith('capabilities ')
        ? command.replace(/=([0-9a-f]{1,16})\b/g, (_, hex: string) => `=${capsOfMask(hex).join(',') || 'none'}`)
        : command;
      explainShimStep(named, why);
    });
  }

  return new Promise((resolve, reject) => {
    let pid = 0;
    let exitCode: number | undefined;
    let startError: StartError | undefined;
    let onReady: ((err?: StartError) => void) | undefined;
    let readyOutcome: { err?: StartError } | undefined;
    let resolveExit!: (code: number) => void;
    const exited = new Promise<number>((r) => (resolveExit = r));

    const settleReady = (err?: StartError) => {
      readyOutcome = { err };
      onReady?.(err);
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new TboxError(`${shimPath} is missing: run npm run build`)
          : new TboxError(`cannot start the monitor: ${err.message}`),
      );
    });

    // The report and sync pipes are sockets: a container killed at the wrong
    // moment (rm -f racing a start) resets them. That is no crash of tbox's:
    // what happened is judged from the report and the exit status.
    for (const fd of [3, 4]) (child.stdio[fd] as Readable).on('error', () => {});
    let joined: Promise<unknown> = Promise.resolve();
    const lines = createInterface({ input: child.stdio[3] as Readable });
    lines.on('line', (line) => {
      const [word, arg, ...rest] = line.split(' ');
      if (word === 'pid') {
        pid = Number(arg);
        // Each v1 attach costs the kernel ~2 ms (an RCU grace period); done
        // here, on the thread pool, it overlaps pid 1 building its root.
        joined = Promise.all(opts.cgroupDirs.map((d) => writeKernelFileAsync(path.join(d, 'cgroup.procs'), String(pid))));
        joined.catch(() => {}); // judged in release()
        // pid 1 reports tbox's own abort as its failure (child.c); that is no reason of its own
        const failure = () => (startError && !/^aborted by tbox before start/.test(startError.message) ? startError : undefined);
        resolve({ child, shimPid: child.pid!, pid, release, abort, failure, exited });
      } else if (word === 'ready') {
        settleReady();
      } else if (word === 'error') {
        startError = new StartError(rest.join(' '), Number(arg));
        settleReady(startError);
      } else if (word === 'exit') {
        exitCode = Number(arg);
      }
    });

    // The report pipe and the process end separately: the last lines ("ready",
    // "exit N") may still be unread when 'exit' fires, so both are awaited
    // before the outcome is judged. Under load, judging at 'exit' alone made
    // a container that ran look like one that never started.
    let exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let reportClosed = false;
    const settle = () => {
      if (!exitStatus || !reportClosed) return;
      const { code, signal } = exitStatus;
      if (!pid) {
        // The monitor may have said why (a host port it could not hold).
        reject(startError ?? new TboxError(`container failed to start (unshare exited ${code ?? signal})`));
        return;
      }
      // The shim reports pid 1's real status; if the shim itself was killed
      // there is no report, and the container died with it (PDEATHSIG).
      const final = exitCode ?? startError?.exitCode ?? (signal ? 137 : (code ?? EXIT_TBOX));
      if (!readyOutcome) settleReady(new StartError('container exited before it started', final));
      resolveExit(final);
    };
    lines.on('close', () => {
      reportClosed = true;
      settle();
    });
    child.on('exit', (code, signal) => {
      exitStatus = { code, signal };
      settle();
    });

    function abort(): void {
      // EOF on the sync pipe without the go byte: pid 1 exits before exec.
      (child.stdio[4] as Writable | undefined)?.destroy();
    }

    async function release(): Promise<void> {
      try {
        await joined;
      } catch (err) {
        abort();
        await exited;
        throw startError ?? new StartError(`join the container's cgroup: ${(err as Error).message}`, EXIT_TBOX);
      }
      (child.stdio[4] as Writable).end('1');
      return new Promise<void>((res, rej) => {
        const done = (err?: StartError) => (err ? rej(err) : res());
        if (readyOutcome) done(readyOutcome.err);
        else onReady = done;
      });
    }
  });
}

/** After -d: stop listening so this CLI can exit while the shim runs on. */
export function detach(l: Launched): void {
  (l.child.stdio[3] as Readable).destroy();
  l.child.unref();
}
