/**
 * `tbox system reset -f`: put the host back as it was before tbox. It works
 * from the database when it can and from the kernel's view always, so it
 * also recovers from a corrupt database or a state dir removed by hand:
 * monitors (tbox-shim) running from this data root, bridges marked with its
 * alias, and its firewall chains. Every step runs even when one fails, and
 * all failures are reported together.
 */
import fs from 'node:fs';
import path from 'node:path';
import { containerDir, stateDir } from '../paths.js';
import { teardown } from '../errors.js';
import { isAlive, waitForExit } from '../host/proc.js';
import { isCorruption, moveDatabaseAside } from '../state/db.js';
import { listContainers } from '../state/containers.js';
import { listNetworks } from '../state/networks.js';
import { removeAllNetworks } from '../network/networks.js';
import { deleteBridge, ownedBridges } from '../network/bridge.js';
import { firewall } from '../network/firewall/firewall.js';
import { removeContainer } from './stop.js';
import { cgroupOf, removeCgroupParent } from './cgroups/cgroup.js';

export interface ResetResult {
  containers: number;
  networks: number;
  /** Where a corrupt database was moved. */
  movedDatabase?: string;
}

/** Monitors started for this data root, found by the --rootfs they were given. */
function shimsOfThisRoot(): number[] {
  const prefix = containerDir('');
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const rootfs = argv.indexOf('--rootfs');
    if (path.basename(argv[0] ?? '') === 'tbox-shim' && rootfs > 0 && argv[rootfs + 1]?.startsWith(prefix)) pids.push(Number(entry));
  }
  return pids;
}

/** Kill what the kernel still runs for this root; a container dies with its monitor (PDEATHSIG), and its netns and veth with it. */
async function killShims(): Promise<void> {
  const pids = shimsOfThisRoot();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  for (const pid of pids) if (isAlive(pid, null)) await waitForExit(pid, null, 10_000);
}

function containerIds(): string[] {
  const dir = path.join(stateDir(), 'containers');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

async function resetFromDatabase(): Promise<{ containers: number; networks: number }> {
  const containers = listContainers();
  const failures: Error[] = [];
  for (const c of containers) {
    try {
      await removeContainer(c.id, true);
    } catch (err) {
      failures.push(err as Error);
    }
  }
  const networks = listNetworks().length;
  teardown([
    ...failures.map((f) => () => {
      throw f;
    }),
    removeAllNetworks,
  ]);
  return { containers: containers.length, networks };
}

export async function resetSystem(): Promise<ResetResult> {
  let result: ResetResult = { containers: 0, networks: 0 };
  let databaseError: unknown;
  try {
    result = await resetFromDatabase();
  } catch (err) {
    if (!isCorruption(err)) databaseError = err;
    else result.movedDatabase = moveDatabaseAside();
  }
  await killShims();
  teardown([
    // Containers' cgroups by the ids of their state dirs, then the parent if nothing else is in it.
    () => containerIds().forEach((id) => cgroupOf(id).destroy()),
    () => removeCgroupParent(),
    ...(databaseError
      ? [
          () => {
            throw databaseError;
          },
        ]
      : []),
    () => ownedBridges().forEach(deleteBridge),
    () => firewall().apply([]),
    () => fs.rmSync(path.join(stateDir(), 'containers'), { recursive: true, force: true, maxRetries: 3 }),
  ]);
  return result;
}
