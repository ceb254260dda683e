import type { Command } from 'commander';

export function registerSystemCommands(program: Command, setExit: (code: number) => void): void {
  const system = program.command('system').description('Manage tbox itself');
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
