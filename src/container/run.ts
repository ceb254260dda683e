/**
 * `tbox run` and `tbox start`: create the container (row, directories), then
 * start it: lease its address, write its /etc files, launch, plug in the
 * network, let CMD run. Any failure before CMD runs undoes what it made, so
 * bad input leaves nothing behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cliPath, containerDir } from '../paths.js';
import { ConflictError, EXIT_CANNOT_RUN, EXIT_NOT_FOUND, InvalidArgumentError, NotFoundError, TboxError, UndoStack } from '../errors.js';
import { resolveImage, type PullPolicy } from '../image/resolve.js';
import { lookupImage, lowerDirs } from '../image/store.js';
import { resolveUser } from '../image/user.js';
import { readProcStat } from '../host/proc.js';
import { resolveTool } from '../host/command.js';
import { resolveNetwork, sharedNetnsOf } from '../network/networks.js';
import { leaseAddress, leaseIp } from '../network/ipam.js';
import { attachToBridge, releaseContainerNetwork } from '../network/attach.js';
import { reservePorts } from '../network/publish.js';
import { refreshNetworkHosts } from '../network/hosts.js';
import { firewall } from '../network/firewall/firewall.js';
import {
  claimStart,
  findContainer,
  getContainer,
  insertContainer,
  isUniqueViolation,
  isBeingRemoved,
  markExited,
  markRunning,
  setRestartState,
  type ContainerRecord,
} from '../state/containers.js';
import { parseRestartPolicy } from './restart-policy.js';
import type { ImageRecord } from '../state/images.js';
import { buildSpec, type RunFlags } from './spec.js';
import { cgroupOf } from './cgroups/cgroup.js';
import { parseResources } from './cgroups/resources.js';
import { generateName, newId, validateName, shortId } from './names.js';
import { writeEtcFiles, hostHostname, shareEtcFiles } from './etc-files.js';
import { launch, detach, type Launched } from './launch.js';
import { finalizeExit, isRunning, reconcile } from './reconcile.js';
import { destroyContainer } from './remove.js';
import { attachConnections } from './connect.js';
import { resolveMounts, type MountFlags } from './mounts.js';
import { ensureVolumeDir, removeAnonymousVolumes } from '../volume/volumes.js';

export interface RunOptions extends Omit<RunFlags, 'hostname' | 'mounts'>, MountFlags {
  image: string;
  name?: string;
  hostname?: string;
  autoRemove: boolean;
  detach: boolean;
  /** --ip: a fixed address on a bridge network */
  ip?: string;
  pull?: PullPolicy;
  restart?: string;
}

export async function createContainer(opts: RunOptions): Promise<{ container: ContainerRecord; image: ImageRecord }> {
  const bridgeNetwork = resolveNetwork(opts.network);
  const network = bridgeNetwork?.name ?? sharedNetwork(opts);
  if (opts.ip !== undefined && !bridgeNetwork) throw new InvalidArgumentError(`--ip needs a bridge network, not ${network}`);
  if (opts.networkAlias?.length && (!bridgeNetwork || bridgeNetwork.isDefault)) {
    throw new InvalidArgumentError('network-scoped alias is supported only for containers in user defined networks');
  }
  const name = opts.name === undefined ? generateName() : validateName(opts.name);
  const image = await resolveImage(opts.image, opts.pull);
  const id = newId();
  // Docker: --network host shares the host's UTS identity, container:X takes X's name.
  const owner = sharedNetnsOf(network);
  const hostname = opts.hostname ?? (network === 'host' ? hostHostname() : owner ? getContainer(owner)!.spec.hostname : shortId(id));
  const restart = parseRestartPolicy(opts.restart ?? 'no');
  if (restart.name !== 'no' && opts.autoRemove) throw new InvalidArgumentError('conflicting options: --restart and --rm');
  // Resolved now, so a user the image lacks fails before anything is made.
  const userSpec = opts.user || image.config.config?.User || undefined;
  const home = userSpec ? resolveUser(userSpec, lowerDirs(image)).home : undefined;
  const built = { ...buildSpec(image, { ...opts, hostname, network, home }), ip: opts.ip, restart: opts.restart };
  // Last, as they make volumes: everything that can be refused has been.
  const spec = { ...built, mounts: resolveMounts(opts, Object.keys(image.config.config?.Volumes ?? {})) };
  const container: ContainerRecord = {
    id,
    name,
    imageId: image.id,
    imageRef: opts.image,
    spec,
    state: 'created',
    shimPid: null,
    shimStartTicks: null,
    pid: null,
    exitCode: null,
    autoRemove: opts.autoRemove,
    restartCount: 0,
    stoppedByUser: false,
    oomKilled: false,
    paused: false,
    createdAt: new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
  };
  try {
    insertContainer(container);
  } catch (err) {
    removeAnonymousVolumes(spec.mounts.filter((m) => m.anonymous).map((m) => m.source));
    if (!isUniqueViolation(err)) throw err;
    const holder = findContainer(name);
    throw new ConflictError(
      `Conflict. The container name "/${name}" is already in use by container "${holder.id}". Remove (or rename) that container to reuse the name.`,
    );
  }
  return { container, image };
}

/**
 * --network container:NAME: the other container's network namespace, kept by
 * id; what would need a netns of its own is refused, as Docker refuses it.
 */
function sharedNetwork(opts: RunOptions): string {
  const target = sharedNetnsOf(opts.network);
  if (target === undefined) return opts.network;
  const conflicts = [
    [opts.hostname, '--hostname'],
    [opts.publish?.length || opts.publishAll, '-p/-P'],
    [opts.ip, '--ip'],
    [opts.dns?.length, '--dns'],
    [opts.addHost?.length, '--add-host'],
  ] as const;
  for (const [given, flag] of conflicts) {
    if (given) throw new InvalidArgumentError(`conflicting options: ${flag} and the network mode container:${target}`);
  }
  return `container:${findContainer(target).id}`;
}

/** The container's own directories (made again if a crashed run left none). */
function makeContainerDirs(id: string): void {
  for (const sub of ['upper', 'work', 'rootfs']) fs.mkdirSync(path.join(containerDir(id), sub), { recursive: true });
}

/**
 * What the shim runs when a detached container exits: `tbox system reconcile`
 * with this tbox's settings (the shim itself carries the container's env).
 */
function reconcileHook(): string[] {
  const settings = Object.entries(process.env)
    .filter(([k]) => k.startsWith('TBOX_'))
    .map(([k, v]) => `${k}=${v}`);
  return [resolveTool('env'), '-i', `PATH=${process.env.PATH ?? ''}`, ...settings, process.execPath, cliPath, 'system', 'reconcile'];
}

/**
 * Launch, plug in the network, let CMD run. Rejects with 125/126/127 if it
 * could not start, having undone each step it took (lease, veth, process).
 * The caller has claimed the container (claimStart), so no other tbox starts
 * or reconciles it meanwhile, and pid 1 is held before exec until the row
 * names its monitor: a tbox killed at any moment leaves nothing running that
 * the state does not know of.
 */
async function startContainer(c: ContainerRecord, image: ImageRecord, detached: boolean): Promise<Launched> {
  const undo = new UndoStack();
  try {
    // What a crashed earlier start may have left: a lease, a veth.
    releaseContainerNetwork(c.id);
    makeContainerDirs(c.id);
    for (const m of c.spec.mounts ?? []) if (m.type === 'volume') ensureVolumeDir(m.source);
    const net = resolveNetwork(c.spec.network);
    undo.push(() => releaseContainerNetwork(c.id));
    // First, so a port another container or process holds stops the start before anything is made.
    const ports = net ? await reservePorts(c.id, c.spec.ports ?? []) : [];
    const lease = net && leaseAddress(net.id, c.id, { requested: c.spec.ip });
    const netnsOwner = sharedNetnsOwner(c);
    if (netnsOwner) shareEtcFiles(c, netnsOwner);
    else writeEtcFiles(c, lease ? leaseIp(lease) : undefined, net?.gateway);
    // Peers learn this container's name, and it theirs.
    if (net && !net.isDefault) refreshNetworkHosts(net.id);
    const lowers = lowerDirs(image);
    const cgroup = cgroupOf(c.id);
    cgroup.create(c.spec.resources ?? parseResources({}));
    undo.push(() => cgroup.destroy());
    const launched = await launch(c, {
      netnsPid: netnsOwner?.pid ?? undefined,
      cgroupDirs: cgroup.joinDirs(),
      lowerDirs: lowers,
      user: c.spec.user ? resolveUser(c.spec.user, lowers) : undefined,
      stdio: detached ? 'detached' : 'inherit',
      // The hook records the exit with no CLI waiting, and applies --restart.
      onExit: detached || (c.spec.restart ?? 'no') !== 'no' ? reconcileHook() : undefined,
      publish: ports,
    });
    undo.push(() => launched.abort());
    if (lease && net) {
      try {
        attachToBridge(net, lease, launched.pid, { hairpin: ports.length > 0 });
        if (ports.length) firewall().setupPortForward({ containerId: c.id, containerIp: leaseIp(lease), bridge: net.bridge, ports });
        attachConnections({ ...c, pid: launched.pid });
      } catch (err) {
        launched.abort();
        await launched.exited;
        // pid 1 may have died first (a refused mount): its reason, not ip's.
        throw launched.failure() ?? err;
      }
    }
    const ticks = readProcStat(launched.shimPid)?.startTicks ?? null;
    markRunning(c.id, launched.shimPid, ticks, launched.pid, new Date().toISOString());
    undo.clear();
    try {
      await launched.release();
    } catch (err) {
      const code = await launched.exited;
      finalizeExit({ ...c, autoRemove: false }, code, new Date().toISOString());
      throw err;
    }
    return launched;
  } catch (err) {
    return undo.unwind(err);
  }
}

/** With --network container:X, X must run: its pid 1 holds the network namespace. */
function sharedNetnsOwner(c: ContainerRecord): ContainerRecord | undefined {
  const id = sharedNetnsOf(c.spec.network);
  if (id === undefined) return undefined;
  const owner = getContainer(id);
  if (!owner || !isRunning(owner) || !owner.pid) {
    throw new ConflictError(`cannot join network of a non running container: ${id.slice(0, 12)}`);
  }
  return owner;
}

/**
 * Relay signals sent to tbox to the container, as Docker's sig-proxy does.
 * Without -t the container shares our process group, so a terminal's Ctrl-C
 * already reached it and is not sent twice. With -t our terminal is in raw
 * mode and Ctrl-C travels as a byte to the container's own pty.
 */
function relaySignals(l: Launched, tty: boolean): () => void {
  const terminalReachesContainer = !tty && (process.stdin.isTTY || process.stdout.isTTY);
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as NodeJS.Signals[]) {
    const relay = terminalReachesContainer && (sig === 'SIGINT' || sig === 'SIGQUIT') ? () => {} : () => l.child.kill(sig);
    handlers.set(sig, relay);
    process.on(sig, relay);
  }
  return () => handlers.forEach((h, sig) => process.off(sig, h));
}

/** `tbox create`: the container is made (row, volumes, directories at start) but not started. */
export async function createNew(opts: RunOptions): Promise<string> {
  reconcile();
  return (await createContainer(opts)).container.id;
}

/** Returns the exit code `tbox run` should end with. */
export async function runContainer(opts: RunOptions): Promise<{ id: string; exitCode: number }> {
  reconcile();
  const { container: c, image } = await createContainer(opts);
  // Killed between create and claim: a Created container, as `tbox create` makes.
  claimStart(c.id);
  // -it: keystrokes go to the container's pty as they are typed.
  const raw = !opts.detach && c.spec.tty && c.spec.interactive && process.stdin.isTTY;
  if (raw) process.stdin.setRawMode(true);
  try {
    return await runCreated(c, image, opts.detach);
  } finally {
    if (raw) process.stdin.setRawMode(false);
  }
}

async function runCreated(c: ContainerRecord, image: ImageRecord, detached: boolean): Promise<{ id: string; exitCode: number }> {
  let launched: Launched;
  try {
    launched = await startContainer(c, image, detached);
  } catch (err) {
    // Docker keeps a container whose CMD was not found (exit 127), but one
    // that tbox could not set up at all is undone.
    const code = (err as TboxError).exitCode;
    if (c.autoRemove || (code !== EXIT_CANNOT_RUN && code !== EXIT_NOT_FOUND)) destroyContainer(c, { volumes: true });
    throw err;
  }
  if (detached) {
    detach(launched);
    return { id: c.id, exitCode: 0 };
  }
  return { id: c.id, exitCode: await waitAttached(c, launched) };
}

/** The terminal stays with the container until it exits (run without -d, start -a): signals relayed, the exit recorded. */
async function waitAttached(c: ContainerRecord, launched: Launched): Promise<number> {
  const stopRelay = relaySignals(launched, c.spec.tty);
  const code = await launched.exited;
  stopRelay();
  finalizeExit(c, code, new Date().toISOString());
  return code;
}

/**
 * `tbox start`: run a created or exited container again, detached, with its
 * id, name, rootfs and network settings. A start by a restart policy counts
 * one restart; a start by the user begins the count again.
 */
export async function startExisting(ref: string, byPolicy = false): Promise<void> {
  await startStopped(ref, byPolicy, false);
}

/** `tbox start -a`: start it with this terminal as its stdio, and return its exit code, as `run` without -d does. */
export async function startAttached(ref: string): Promise<number> {
  return (await startStopped(ref, false, true)) ?? 0;
}

async function startStopped(ref: string, byPolicy: boolean, attach: boolean): Promise<number | undefined> {
  reconcile();
  const c = findContainer(ref);
  // Two `tbox start`s at once: only the one whose claim lands goes on.
  const claim = claimStart(c.id);
  if (claim === 'running') return undefined;
  if (claim === 'removing') throw new ConflictError(`container ${c.name} is being removed: it cannot be started`);
  setRestartState(c.id, byPolicy ? c.restartCount + 1 : 0);
  let launched: Launched;
  const current = getContainer(c.id)!;
  try {
    const image = lookupImage(c.imageId);
    if (!image) throw new NotFoundError(`image ${c.imageId.slice(7, 19)} of container ${c.name} is gone`);
    launched = await startContainer(current, image, !attach);
  } catch (err) {
    // rm -f took it away mid-start (its cgroup, its directory): that, not the step that broke, is what happened
    if (isBeingRemoved(c.id)) throw new ConflictError(`container ${c.name} is being removed: it cannot be started`);
    markExited(c.id, (err as TboxError).exitCode ?? 125, new Date().toISOString());
    throw err;
  }
  if (!attach) {
    detach(launched);
    return undefined;
  }
  return waitAttached(current, launched);
}
