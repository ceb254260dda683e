import type { Command } from 'commander';
import { ago, humanSize, printRecords } from './format.js';

export function registerImageCommands(program: Command): void {
  program
    .command('images')
    .description('List images')
    .option('-q, --quiet', 'only show image ids', false)
    .option('--no-trunc', "don't truncate output")
    .option('--format <format>', 'table, json, or a template like {{.ID}}')
    .action(async (o) => {
      const { listImages } = await import('../state/images.js');
      const records = listImages().flatMap((img) => {
        const id = o.trunc === false ? img.id : img.id.replace(/^sha256:/, '').slice(0, 12);
        const tags = img.tags.length > 0 ? img.tags : ['<none>:<none>'];
        return tags.map((t) => {
          const colon = t.lastIndexOf(':');
          return {
            Repository: t.slice(0, colon),
            Tag: t.slice(colon + 1),
            ID: id,
            CreatedAt: img.createdAt,
            CreatedSince: ago(img.createdAt),
            Size: humanSize(img.size),
          };
        });
      });
      if (o.quiet) {
        for (const id of new Set(records.map((r) => r.ID))) process.stdout.write(`${id}\n`);
        return;
      }
      printRecords(o.format, ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ['Repository', 'Tag', 'ID', 'CreatedSince', 'Size'], records);
    });

  program
    .command('import')
    .description('Import a root filesystem tar(.gz) as a one-layer image')
    .argument('<file>', 'rootfs tar or tar.gz')
    .argument('[reference]', 'NAME[:TAG]')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .action(async (file: string, ref: string | undefined, o) => {
      const { importRootfs } = await import('../image/store.js');
      const { parseChanges } = await import('../image/changes.js');
      const image = await importRootfs(file, ref ?? `imported-${Date.now()}:latest`, parseChanges(o.change));
      process.stdout.write(`${image.id}\n`);
    });

  program
    .command('rmi')
    .description('Remove one or more images')
    .argument('<image...>')
    .option('-f, --force', 'remove even if containers use it', false)
    .action(async (refs: string[], o) => {
      const { removeImage } = await import('../image/store.js');
      for (const ref of refs) process.stdout.write(removeImage(ref, o.force).join('\n') + '\n');
    });
}
