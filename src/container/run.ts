/**
 * `tbox run`: create the container (row, directories, /etc files), start it,
 * and in the foreground wait for it. Any failure before the command runs
 * undoes everything it created, so bad input leaves nothing behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { v4 as uuidv4 } from 'uuid';
import { containerDir } from '../paths.js';
import { ConflictError, InvalidArgumentError, TboxError } from '../errors.js';
import { resolveImage } from '../image/resolve.js';
import { lowerDirs } from '../image/store.js';
import { readProcStat } from '../host/proc.js';
import { resolveNetwork } from '../network/networks.js';
import { leaseAddress, leaseIp } from '../network/ipam.js';
import { attachToBridge, containerEndpoint } from '../network/attach.js';
import { findContainer, insertContainer, markRunning, type ContainerRecord } from '../state/containers.js';
import { buildSpec, type RunFlags } from './spec.js';
import { generateName, validateName, shortId } from './names.js';
import { writeEtcFiles, hostHostname } from './etc-files.js';
import { launch, detach, type Launched } from './launch.js';
import { finalizeExit, reconcile } from './reconcile.js';
import { destroyContainer } from './remove.js';

export interface RunOptions extends Omit<RunFlags, 'hostname'> {
  image: string;
  name?: string;
  hostname?: string;
  autoRemove: boolean;
  detach: boolean;
  /** --ip: a fixed address on a bridge network */
  ip?: string;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export async function createContainer(opts: RunOptions): Promise<ContainerRecord> {
  const bridgeNetwork = resolveNetwork(opts.network);
  const network = bridgeNetwork?.name ?? opts.network;
  if (opts.ip !== undefined && !bridgeNetwork) throw new InvalidArgumentError(`--ip needs a bridge network, not ${network}`);
  const name = opts.name === undefined ? generateName() : validateName(opts.name);
  const image = await resolveImage(opts.image);
  const id = uuidv4().replace(/-/g, '');
  // Docker: --network host shares the host's UTS identity unless told otherwise.
  const hostname = opts.hostname ?? (network === 'host' ? hostHostname() : shortId(id));
  const spec = buildSpec(image, { ...opts, hostname, network });
  const record: ContainerRecord = {
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
    createdAt: new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
  };
  try {
    insertContainer(record);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const holder = findContainer(name);
    throw new ConflictError(
      `Conflict. The container name "/${name}" is already in use by container "${holder.id}". Remove (or rename) that container to reuse the name.`,
    );
  }
  try {
    const dir = containerDir(id);
    for (const sub of ['upper', 'work', 'rootfs']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    const lease = bridgeNetwork && leaseAddress(bridgeNetwork.id, id, opts.ip);
    writeEtcFiles(dir, hostname, lease ? leaseIp(lease) : undefined, network === 'host');
  } catch (err) {
    destroyContainer(record);
    throw err;
  }
  return record;
}

async function startContainer(c: ContainerRecord, detached: boolean): Promise<Launched> {
  const image = await resolveImage(c.imageId);
  const endpoint = containerEndpoint(c.id);
  const launched = await launch(c, {
    lowerDirs: lowerDirs(image),
    newNetns: c.spec.network !== 'host',
    // pid 1 waits for its network, so CMD never starts without eth0.
    holdBeforeExec: endpoint !== undefined,
    stdio: detached ? 'detached' : 'inherit',
  });
  if (endpoint) {
    try {
      attachToBridge(endpoint.network, endpoint.lease, launched.shimPid);
    } catch (err) {
      launched.abort();
      await launched.exited;
      throw err;
    }
  }
  const ticks = readProcStat(launched.shimPid)?.startTicks ?? null;
  markRunning(c.id, launched.shimPid, ticks ?? 0, launched.pid, new Date().toISOString());
  return launched;
}

/** Terminal signals reach the container directly (same process group); others we relay. */
function relaySignals(l: Launched): () => void {
  const fromTerminal = process.stdin.isTTY || process.stdout.isTTY;
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as NodeJS.Signals[]) {
    const relay = fromTerminal && (sig === 'SIGINT' || sig === 'SIGQUIT') ? () => {} : () => l.child.kill(sig);
    handlers.set(sig, relay);
    process.on(sig, relay);
  }
  return () => handlers.forEach((h, sig) => process.off(sig, h));
}

/** Returns the exit code `tbox run` should end with. */
export async function runContainer(opts: RunOptions): Promise<{ id: string; exitCode: number }> {
  reconcile();
  const c = await createContainer(opts);
  let launched: Launched;
  try {
    launched = await startContainer(c, opts.detach);
  } catch (err) {
    destroyContainer(c);
    throw err;
  }
  const stopRelay = opts.detach ? () => {} : relaySignals(launched);
  try {
    await launched.release();
  } catch (err) {
    stopRelay();
    const code = await launched.exited;
    finalizeExit(c, code, new Date().toISOString());
    throw err instanceof TboxError ? err : new TboxError(String(err));
  }
  if (opts.detach) {
    detach(launched);
    return { id: c.id, exitCode: 0 };
  }
  const code = await launched.exited;
  stopRelay();
  finalizeExit(c, code, new Date().toISOString());
  return { id: c.id, exitCode: code };
}
