import type { Command } from 'commander';
import { collect } from './run-flags.js';
import { confirm } from './confirm.js';
import { forEachName } from './each.js';
import { ago, humanSize, printRecords, renderTemplate, truncate } from './format.js';

/** The image commands that have a short form (images, pull, rmi, ...): registered on the program and on `image`. */
export function registerImageCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('images')
    .description('List images')
    .argument('[repository[:tag]]', 'only this repository (and tag)')
    .option('-q, --quiet', 'only show image ids', false)
    .option('--no-trunc', "don't truncate output")
    .option('--digests', 'show digests', false)
    .option('-f, --filter <key=value>', 'dangling=true|false, reference=PATTERN (repeatable)', collect, [])
    .option('--format <format>', 'table, json, or a template like {{.ID}}')
    .action(async (wanted: string | undefined, o) => {
      const { listImages, digestsOf } = await import('../state/images.js');
      const { familiarTag } = await import('../image/store.js');
      const { imageRowFilter } = await import('../image/list-filter.js');
      const { familiarName } = await import('../image/reference.js');
      const keep = imageRowFilter(wanted, o.filter);
      const records = listImages()
        .flatMap((img) => {
          const id = o.trunc === false ? img.id : img.id.replace(/^sha256:/, '').slice(0, 12);
          const tags = img.tags.length > 0 ? img.tags.map(familiarTag) : ['<none>:<none>'];
          return tags.map((t) => {
            const colon = t.lastIndexOf(':');
            const repository = t.slice(0, colon);
            const digest = digestsOf(img.id).find((d) => familiarName(d.repository) === repository)?.digest;
            return {
              Repository: repository,
              Tag: t.slice(colon + 1),
              Digest: digest ?? '<none>',
              ID: id,
              CreatedAt: img.createdAt,
              CreatedSince: ago(img.createdAt),
              Size: humanSize(img.size),
            };
          });
        })
        .filter(keep);
      if (o.quiet) {
        for (const id of new Set(records.map((r) => r.ID))) process.stdout.write(`${id}\n`);
        return;
      }
      const digest: [string[], string[]] = o.digests ? [['DIGEST'], ['Digest']] : [[], []];
      printRecords(
        o.format,
        ['REPOSITORY', 'TAG', ...digest[0], 'IMAGE ID', 'CREATED', 'SIZE'],
        ['Repository', 'Tag', ...digest[1], 'ID', 'CreatedSince', 'Size'],
        records,
      );
    });

  program
    .command('import')
    .description('Import a root filesystem tar(.gz) as a one-layer image')
    .argument('<file>', 'rootfs tar or tar.gz')
    .argument('[reference]', 'NAME[:TAG]')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR (repeatable)', collect, [])
    .action(async (file: string, ref: string | undefined, o) => {
      const { importRootfs } = await import('../image/store.js');
      const { parseChanges } = await import('../image/changes.js');
      const image = await importRootfs(file, ref ?? `imported-${Date.now()}:latest`, parseChanges(o.change));
      process.stdout.write(`${image.id}\n`);
    });

  program
    .command('pull')
    .description('Download an image from a registry (Docker Hub unless the name says otherwise)')
    .argument('<name>', 'NAME[:TAG|@sha256:DIGEST]')
    .option('-q, --quiet', 'no progress: print only the reference', false)
    .action(async (name: string, o) => {
      const { pullImage } = await import('../image/registry/pull.js');
      const { parseReference } = await import('../image/reference.js');
      const { Writable } = await import('node:stream');
      await pullImage(
        name,
        o.quiet ? (new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream) : process.stdout,
      );
      const ref = parseReference(name);
      process.stdout.write(`${ref.repository}${ref.digest ? `@${ref.digest}` : `:${ref.tag}`}\n`);
    });

  program
    .command('push')
    .description('Upload an image to a registry (credentials from ~/.docker/config.json, as pull)')
    .argument('<name>', 'REGISTRY/NAME[:TAG]')
    .action(async (name: string) => {
      const { pushImage } = await import('../image/registry/push.js');
      await pushImage(name, (line) => process.stdout.write(`${line}\n`));
    });

  program
    .command('load')
    .description('Load images from a docker save archive or an OCI image layout (directory or tar)')
    .requiredOption('-i, --input <file>', 'the archive or layout')
    .action(async (o) => {
      const { loadImages } = await import('../image/load.js');
      for (const line of await loadImages(o.input)) process.stdout.write(`${line}\n`);
    });

  program
    .command('tag')
    .description('Create a tag TARGET that refers to SOURCE')
    .argument('<source>')
    .argument('<target>')
    .action(async (source: string, target: string) => {
      const { tagImage } = await import('../image/store.js');
      tagImage(source, target);
    });

  program
    .command('save')
    .description('Save images to a tar archive (docker-archive and OCI layout in one; stdout unless -o)')
    .argument('<image...>')
    .option('-o, --output <file>', 'write to a file')
    .action(async (refs: string[], o) => {
      const { saveImages } = await import('../image/save.js');
      const { InvalidArgumentError } = await import('../errors.js');
      if (!o.output && process.stdout.isTTY)
        throw new InvalidArgumentError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      await saveImages(refs, o.output ?? process.stdout);
    });

  program
    .command('history')
    .description('Show the history of an image')
    .argument('<image>')
    .option('-H, --human <bool>', 'sizes and dates in human form', 'true')
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only show image ids', false)
    .option('--format <format>', 'table, json, or a template like {{.CreatedBy}}')
    .action(async (ref: string, o) => {
      const { imageHistory } = await import('../image/history.js');
      const rows = imageHistory(ref);
      if (o.quiet) {
        for (const r of rows) process.stdout.write(`${r.ID}\n`);
        return;
      }
      const human = o.human !== 'false';
      const records = rows.map((r) => ({
        ...r,
        CreatedSince: r.CreatedAt ? (human ? ago(r.CreatedAt) : r.CreatedAt) : '',
        CreatedBy: o.trunc === false ? r.CreatedBy : truncate(r.CreatedBy, 45),
        Size: human ? humanSize(r.Size) : String(r.Size),
      }));
      printRecords(
        o.format,
        ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
        ['ID', 'CreatedSince', 'CreatedBy', 'Size', 'Comment'],
        records,
      );
    });

  program
    .command('rmi')
    .description('Remove one or more images')
    .argument('<image...>')
    .option('-f, --force', 'remove even if containers use it', false)
    .action(async (refs: string[], o) => {
      const { removeImage } = await import('../image/store.js');
      await forEachName(refs, setExit, async (ref) => removeImage(ref, o.force).join('\n'));
    });
}

/** What only `tbox image ...` has: prune, inspect. */
export function registerImageGroupCommands(image: Command): void {
  image
    .command('inspect')
    .description('Show images as JSON, in the shape docker image inspect has')
    .argument('<image...>')
    .option('-f, --format <template>', 'a template like {{.Os}}/{{.Architecture}}')
    .action(async (refs: string[], o) => {
      const { lookupImage } = await import('../image/store.js');
      const { inspectImage } = await import('../image/inspect.js');
      const { NotFoundError } = await import('../errors.js');
      const out = refs.map((ref) => {
        const img = lookupImage(ref);
        if (!img) throw new NotFoundError(`No such image: ${ref}`);
        return inspectImage(img);
      });
      if (o.format) for (const item of out) process.stdout.write(`${renderTemplate(o.format, item)}\n`);
      else process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
    });

  image
    .command('prune')
    .description('Remove images no container uses: untagged ones, or all with -a')
    .option('-a, --all', 'all unused images, not just untagged ones', false)
    .option('-f, --force', 'do not ask', false)
    .action(async (o) => {
      const warning = o.all
        ? 'WARNING! This will remove all images without at least one container associated to them.'
        : 'WARNING! This will remove all dangling images.';
      if (!o.force && !(await confirm(warning))) return;
      const { pruneImages } = await import('../image/store.js');
      const removed = pruneImages(o.all);
      if (removed.length > 0) process.stdout.write(`Deleted Images:\n${removed.join('\n')}\n`);
      process.stdout.write(`Total reclaimed: ${removed.filter((r) => r.startsWith('deleted')).length} image(s)\n`);
    });
}
