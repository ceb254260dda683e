import type { Command } from 'commander';
import { humanSize, printRecords, renderTemplate } from './format.js';

/** `tbox info` and `tbox system info`: counts, storage, cgroups and the host, as `docker info` shows them. */
async function systemInfo() {
  const os = await import('node:os');
  const { reconcile } = await import('../container/reconcile.js');
  const { listContainers } = await import('../state/containers.js');
  const { listImages } = await import('../state/images.js');
  const { dataRoot } = await import('../paths.js');
  const { versionInfo } = await import('./version.js');
  reconcile();
  const containers = listContainers();
  const v = versionInfo();
  const running = containers.filter((c) => c.state === 'running');
  return {
    Containers: containers.length,
    ContainersRunning: running.filter((c) => !c.paused).length,
    ContainersPaused: running.filter((c) => c.paused).length,
    ContainersStopped: containers.length - running.length,
    Images: listImages().length,
    Driver: 'overlay2',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: v.Runtime.CgroupVersion,
    KernelVersion: v.Runtime.KernelVersion,
    OperatingSystem: os.version(),
    OSType: 'linux',
    Architecture: os.machine(),
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    Name: os.hostname(),
    ServerVersion: v.Client.Version,
    DockerRootDir: dataRoot(),
    Runtime: v.Runtime.Name,
    Firewall: v.Runtime.Firewall,
  };
}

function infoText(i: Awaited<ReturnType<typeof systemInfo>>): string {
  return [
    'Server:',
    ` Containers: ${i.Containers}`,
    `  Running: ${i.ContainersRunning}`,
    `  Paused: ${i.ContainersPaused}`,
    `  Stopped: ${i.ContainersStopped}`,
    ` Images: ${i.Images}`,
    ` Server Version: tbox ${i.ServerVersion}`,
    ` Storage Driver: ${i.Driver}`,
    ` Cgroup Driver: ${i.CgroupDriver}`,
    ` Cgroup Version: ${i.CgroupVersion}`,
    ` Runtime: ${i.Runtime}`,
    ` Firewall: ${i.Firewall}`,
    ` Kernel Version: ${i.KernelVersion}`,
    ` Operating System: ${i.OperatingSystem}`,
    ` OSType: ${i.OSType}`,
    ` Architecture: ${i.Architecture}`,
    ` CPUs: ${i.NCPU}`,
    ` Total Memory: ${humanSize(i.MemTotal)}`,
    ` Name: ${i.Name}`,
    ` Docker Root Dir: ${i.DockerRootDir}`,
    '',
  ].join('\n');
}

/** `tbox info`, also registered at the top level as Docker has it. */
export function registerInfoCommand(parent: Command): void {
  parent
    .command('info')
    .description('Show what tbox holds and what it runs on')
    .option('-f, --format <template>', 'a template like {{.ContainersRunning}}, or json')
    .action(async (o) => {
      const info = await systemInfo();
      process.stdout.write(
        o.format === 'json' ? `${JSON.stringify(info)}\n` : o.format ? `${renderTemplate(o.format, info)}\n` : infoText(info),
      );
    });
}

export function registerSystemCommands(program: Command, setExit: (code: number) => void): void {
  const system = program.command('system').description('Manage tbox itself');
  registerInfoCommand(system);

  system
    .command('df')
    .description('Show the disk space images, containers and volumes take')
    .option('--format <format>', 'table, json, or a template like {{.Type}}')
    .action(async (o) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { diskUsage } = await import('../diagnose/disk-usage.js');
      reconcile();
      const percent = (r: { Size: number; Reclaimable: number }) => (r.Size ? ` (${Math.round((r.Reclaimable / r.Size) * 100)}%)` : '');
      const records = diskUsage().map((r) => ({
        ...r,
        Size: humanSize(r.Size),
        Reclaimable: `${humanSize(r.Reclaimable)}${percent(r)}`,
      }));
      printRecords(
        o.format,
        ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
        ['Type', 'TotalCount', 'Active', 'Size', 'Reclaimable'],
        records,
      );
    });
  system
    .command('reconcile')
    .description('Record exited containers, release what they held, and apply --restart policies (run by the monitor on exit)')
    .action(async () => {
      // A monitor's hook that fires after its data root was removed (rm -rf, a test's clean-up) has nothing to do, and must not make the root again.
      const { openExistingOnly } = await import('../state/db.js');
      const { databasePath } = await import('../paths.js');
      const fs = await import('node:fs');
      openExistingOnly();
      if (!fs.existsSync(databasePath())) return;
      const { reconcile } = await import('../container/reconcile.js');
      const { applyRestartPolicies } = await import('../container/restart-policy.js');
      const { startExisting } = await import('../container/run.js');
      reconcile();
      await applyRestartPolicies((id) => startExisting(id, true));
    });

  system
    .command('prune')
    .description('Remove what this data root left on the host with no container to own it (see tbox doctor)')
    .option('-f, --force', 'do not ask', false)
    .action(async (o) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { findLeftovers, removeLeftovers } = await import('../diagnose/leftovers.js');
      const { confirm } = await import('./confirm.js');
      reconcile();
      const found = findLeftovers();
      if (found.length === 0) {
        process.stdout.write('Nothing to remove\n');
        return;
      }
      const list = found.map((l) => `  ${l.kind} ${l.name}`).join('\n');
      if (!o.force && !(await confirm(`WARNING! This will remove:\n${list}`))) return;
      const { removed, failed } = removeLeftovers(found);
      for (const l of removed) process.stdout.write(`removed ${l.kind} ${l.name}\n`);
      for (const f of failed) process.stderr.write(`tbox: ${f.leftover.kind} ${f.leftover.name}: ${f.error}\n`);
      if (failed.length) setExit(1);
    });

  system
    .command('reset')
    .description('Remove every container, network (tbox0 too), bridge and firewall rule this data root made')
    .option('-f, --force', 'do not ask', false)
    .action(async (o) => {
      const { resetSystem } = await import('../container/reset.js');
      const { TboxError } = await import('../errors.js');
      if (!o.force) throw new TboxError('tbox system reset removes all containers and networks: add -f to confirm');
      const { containers, networks, movedDatabase } = await resetSystem();
      if (movedDatabase) process.stdout.write(`The state database was corrupt: moved it to ${movedDatabase}\n`);
      process.stdout.write(`Removed ${containers} container(s) and ${networks} network(s)\n`);
    });
}
