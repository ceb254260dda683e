import type { Command } from 'commander';

/** The limit flags run and update share, as Docker's do. */
export function addResourceOptions(cmd: Command): Command {
  return cmd
    .option('-m, --memory <bytes>', 'memory limit (b, k, m, g)')
    .option('--memory-swap <bytes>', 'memory plus swap limit; -1 for unlimited swap')
    .option('--cpus <number>', 'number of CPUs, such as 0.5')
    .option('--cpu-shares <shares>', 'CPU shares (relative weight)')
    .option('--cpuset-cpus <cpus>', 'CPUs the container may use, such as 0-1')
    .option('--pids-limit <n>', 'most processes at once (run: 2048 unless given; -1 for no limit)');
}

export const resourceFlags = (o: Record<string, string | undefined>) => ({
  memory: o.memory,
  memorySwap: o.memorySwap,
  cpus: o.cpus,
  cpuShares: o.cpuShares,
  cpusetCpus: o.cpusetCpus,
  pidsLimit: o.pidsLimit,
});
