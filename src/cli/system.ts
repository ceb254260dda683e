import type { Command } from 'commander';

export function registerSystemCommands(program: Command): void {
  const system = program.command('system').description('Manage tbox itself');
  system
    .command('reconcile')
    .description('Record exited containers, release what they held, and apply --restart policies (run by the monitor on exit)')
    .action(async () => {
      const { reconcile } = await import('../container/reconcile.js');
      const { applyRestartPolicies } = await import('../container/restart-policy.js');
      const { startExisting } = await import('../container/run.js');
      reconcile();
      await applyRestartPolicies((id) => startExisting(id, true));
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
