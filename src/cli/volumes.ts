import type { Command } from 'commander';
import { humanSize, printRecords, renderTemplate } from './format.js';
import { confirm } from './confirm.js';
import { forEachName } from './each.js';

export function registerVolumeCommands(program: Command, setExit: (code: number) => void): void {
  const volume = program.command('volume').description('Manage volumes');

  volume
    .command('create')
    .description('Create a volume (a new anonymous one when no name is given)')
    .argument('[name]')
    .option('-d, --driver <driver>', 'only local', 'local')
    .action(async (name: string | undefined, o) => {
      const { InvalidArgumentError } = await import('../errors.js');
      if (o.driver !== 'local') throw new InvalidArgumentError(`volume driver ${o.driver} is not supported: tbox has local volumes`);
      const { createVolume } = await import('../volume/volumes.js');
      process.stdout.write(`${createVolume(name).name}\n`);
    });

  volume
    .command('ls')
    .alias('list')
    .description('List volumes')
    .option('-q, --quiet', 'only display volume names', false)
    .option('--format <format>', 'table, json, or a template like {{.Name}}')
    .action(async (o) => {
      const { listVolumes } = await import('../state/volumes.js');
      const { volumeDataDir } = await import('../paths.js');
      const volumes = listVolumes();
      if (o.quiet) {
        for (const v of volumes) process.stdout.write(`${v.name}\n`);
        return;
      }
      const records = volumes.map((v) => ({ Driver: 'local', Name: v.name, Mountpoint: volumeDataDir(v.name), Scope: 'local' }));
      printRecords(o.format, ['DRIVER', 'VOLUME NAME'], ['Driver', 'Name'], records);
    });

  volume
    .command('inspect')
    .description('Show volumes as JSON')
    .argument('<name...>')
    .option('-f, --format <template>', 'a template like {{.Mountpoint}}')
    .action(async (names: string[], o) => {
      const { findVolume, inspectVolume } = await import('../volume/volumes.js');
      const out = names.map((n) => inspectVolume(findVolume(n)));
      if (o.format) for (const v of out) process.stdout.write(renderTemplate(o.format, v) + '\n');
      else process.stdout.write(JSON.stringify(out, null, 4) + '\n');
    });

  volume
    .command('rm')
    .alias('remove')
    .description('Remove one or more volumes no container uses')
    .argument('<name...>')
    .option('-f, --force', 'no error for a volume that does not exist', false)
    .action(async (names: string[], o) => {
      const { removeVolume } = await import('../volume/volumes.js');
      const { NotFoundError } = await import('../errors.js');
      await forEachName(names, setExit, async (name) => {
        try {
          removeVolume(name);
        } catch (err) {
          if (o.force && err instanceof NotFoundError) return undefined;
          throw err;
        }
        return name;
      });
    });

  volume
    .command('prune')
    .description('Remove unused anonymous volumes (all unused ones with -a)')
    .option('-a, --all', 'named volumes too', false)
    .option('-f, --force', 'do not ask', false)
    .action(async (o) => {
      const what = o.all ? 'all volumes not used by at least one container' : 'all anonymous volumes not used by at least one container';
      if (!o.force && !(await confirm(`WARNING! This will remove ${what}.`))) return;
      const { pruneVolumes } = await import('../volume/volumes.js');
      const { removed, reclaimed } = pruneVolumes(o.all);
      if (removed.length) process.stdout.write(`Deleted Volumes:\n${removed.join('\n')}\n\n`);
      process.stdout.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
    });
}
