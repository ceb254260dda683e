/**
 * Resource limits as Docker's flags give them (-m, --memory-swap, --cpus,
 * --cpu-shares, --cpuset-cpus, --pids-limit), kept in the shape of the OCI
 * runtime-spec's linux.resources, which config.json carries.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { ContainerResources } from '../../state/containers.js';

/**
 * memory in bytes, swap being memory plus swap as OCI and Docker's
 * --memory-swap say (-1 unlimited); cpu quota and period in microseconds,
 * shares as cpu.shares (2-262144); pids -1 unlimited.
 */
export type Resources = ContainerResources;

/** Podman's default: a fork bomb in a default container cannot take the host. */
export const DEFAULT_PIDS_LIMIT = 2048;
const CPU_PERIOD = 100_000;

/** 32m, 1g, 512k, 1024b or plain bytes, as Docker reads a memory size. */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg])?b?$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`invalid ${flag} "${text}": a size such as 512k, 32m or 1g`);
  const unit = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}

export interface ResourceFlags {
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
}

export function parseResources(flags: ResourceFlags, defaults = true): Resources {
  const r: Resources = {};
  if (flags.memory !== undefined) {
    const limit = parseBytes(flags.memory, '--memory');
    // Docker's minimum: below this the container cannot even start.
    if (limit < 6 * 1024 * 1024) throw new InvalidArgumentError('minimum memory limit allowed is 6MB');
    r.memory = { limit, swap: 2 * limit };
  }
  if (flags.memorySwap !== undefined) {
    if (!r.memory?.limit) throw new InvalidArgumentError('you should always set the memory limit when using the memory-swap limit (-m)');
    const swap = flags.memorySwap === '-1' ? -1 : parseBytes(flags.memorySwap, '--memory-swap');
    if (swap !== -1 && swap < r.memory.limit)
      throw new InvalidArgumentError('minimum memory-swap limit should be larger than the memory limit');
    r.memory.swap = swap;
  }
  if (flags.cpus !== undefined || flags.cpuShares !== undefined || flags.cpusetCpus !== undefined) r.cpu = {};
  if (flags.cpus !== undefined) {
    const cpus = Number(flags.cpus);
    if (!/^\d+(\.\d+)?$/.test(flags.cpus) || cpus <= 0)
      throw new InvalidArgumentError(`invalid --cpus "${flags.cpus}": a positive number such as 0.5`);
    r.cpu!.quota = Math.round(cpus * CPU_PERIOD);
    r.cpu!.period = CPU_PERIOD;
  }
  if (flags.cpuShares !== undefined) {
    const shares = Number(flags.cpuShares);
    if (!Number.isInteger(shares) || shares < 2 || shares > 262_144)
      throw new InvalidArgumentError(`invalid --cpu-shares "${flags.cpuShares}": 2 to 262144`);
    r.cpu!.shares = shares;
  }
  if (flags.cpusetCpus !== undefined) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(flags.cpusetCpus))
      throw new InvalidArgumentError(`invalid --cpuset-cpus "${flags.cpusetCpus}": a list such as 0-1 or 0,2`);
    r.cpu!.cpus = flags.cpusetCpus;
  }
  if (flags.pidsLimit !== undefined) {
    const limit = Number(flags.pidsLimit);
    if (!Number.isInteger(limit) || limit < -1)
      throw new InvalidArgumentError(`invalid --pids-limit "${flags.pidsLimit}": a number, or -1 for none`);
    r.pids = { limit: limit === 0 ? -1 : limit };
  } else if (defaults) {
    r.pids = { limit: DEFAULT_PIDS_LIMIT };
  }
  return r;
}

/** cgroup v2's cpu.weight for v1's cpu.shares (the conversion runc and crun use). */
export const sharesToWeight = (shares: number) => Math.floor(1 + ((shares - 2) * 9999) / 262142);
