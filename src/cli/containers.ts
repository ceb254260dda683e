import type { Command } from 'commander';
import { ago, humanSize, printRecords, renderTemplate, truncate } from './format.js';
import { addRunOptions, runOptions } from './run-flags.js';
import { forEachName } from './each.js';
import { statusWord, type ContainerRecord } from '../state/containers.js';
import type { PortBinding } from '../state/ports.js';
import { formatPortsColumn } from '../network/ports.js';

import { collect } from './run-flags.js';

function statusText(c: ContainerRecord): string {
  if (c.state === 'running') return `Up ${ago(c.startedAt!).replace(/ ago$/, '')}${c.paused ? ' (Paused)' : ''}`;
  if (c.state === 'exited') return `Exited (${c.exitCode}) ${ago(c.finishedAt!)}`;
  return 'Created';
}

function psRecord(c: ContainerRecord, bindings: PortBinding[]) {
  return {
    ID: c.id.slice(0, 12),
    Image: c.imageRef,
    Command: `"${truncate(c.spec.args.join(' '), 20)}"`,
    CreatedAt: c.createdAt,
    RunningFor: ago(c.createdAt),
    Status: statusText(c),
    State: statusWord(c),
    Labels: Object.entries(c.spec.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Ports: c.state === 'running' ? formatPortsColumn(bindings, c.spec.exposed ?? []) : '',
    Names: c.name,
    Networks: c.spec.network,
  };
}

export function registerContainerCommands(program: Command, setExit: (code: number) => void): void {
  addRunOptions(
    program
      .command('run')
      .description('Create and run a new container from an image')
      .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
      .argument('<image>')
      .argument('[command...]')
      .passThroughOptions(),
  )
    .option('--rm', 'remove the container when it exits', false)
    .option('-d, --detach', 'run in the background and print the container id', false)
    .action(async (image: string, cmd: string[], o) => {
      const { runContainer } = await import('../container/run.js');
      const result = await runContainer(await runOptions(image, cmd, o));
      if (o.detach) process.stdout.write(`${result.id}\n`);
      setExit(result.exitCode);
    });

  addRunOptions(
    program
      .command('create')
      .description('Create a new container without starting it')
      .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
      .argument('<image>')
      .argument('[command...]')
      .passThroughOptions(),
  ).action(async (image: string, cmd: string[], o) => {
    const { createNew } = await import('../container/run.js');
    process.stdout.write(`${await createNew(await runOptions(image, cmd, { ...o, rm: false, detach: true }))}\n`);
  });

  program
    .command('start')
    .description('Start one or more stopped containers')
    .argument('<container...>')
    .option('-a, --attach', "attach this terminal to the container's output, and end with its exit code", false)
    .option('-i, --interactive', "attach this terminal's input too (a container made with -i)", false)
    .action(async (refs: string[], o) => {
      const { startExisting, startAttached } = await import('../container/run.js');
      if (o.attach || o.interactive) {
        const { InvalidArgumentError } = await import('../errors.js');
        if (refs.length > 1) throw new InvalidArgumentError('you cannot start and attach multiple containers at once');
        setExit(await startAttached(refs[0]!));
        return;
      }
      await forEachName(refs, setExit, async (ref) => {
        await startExisting(ref);
        return ref;
      });
    });

  program
    .command('stop')
    .description('Stop one or more running containers: SIGTERM, then SIGKILL after a grace period')
    .argument('<container...>')
    .option('-t, --time <seconds>', "seconds to wait before killing (default: the container's --stop-timeout, else 10)")
    .action(async (refs: string[], o) => {
      const { stopContainer } = await import('../container/stop.js');
      await forEachName(refs, setExit, async (ref) => {
        await stopContainer(ref, o.time === undefined ? undefined : Number(o.time));
        return ref;
      });
    });

  program
    .command('restart')
    .description('Restart one or more containers')
    .argument('<container...>')
    .option('-t, --time <seconds>', "seconds to wait before killing (default: the container's --stop-timeout, else 10)")
    .action(async (refs: string[], o) => {
      const { stopContainer } = await import('../container/stop.js');
      const { startExisting } = await import('../container/run.js');
      await forEachName(refs, setExit, async (ref) => {
        await stopContainer(ref, o.time === undefined ? undefined : Number(o.time));
        await startExisting(ref);
        return ref;
      });
    });

  program
    .command('kill')
    .description('Send a signal to the main process of one or more running containers')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'signal name or number', 'KILL')
    .action(async (refs: string[], o) => {
      const { killContainer } = await import('../container/stop.js');
      await forEachName(refs, setExit, async (ref) => {
        killContainer(ref, o.signal);
        return ref;
      });
    });

  program
    .command('wait')
    .description('Block until one or more containers stop, then print their exit codes')
    .argument('<container...>')
    .action(async (refs: string[]) => {
      const { waitContainer } = await import('../container/stop.js');
      await forEachName(refs, setExit, async (ref) => String(await waitContainer(ref)));
    });

  program
    .command('logs')
    .description("Show a container's stdout and stderr")
    .argument('<container>')
    .option('-f, --follow', 'follow until the container exits', false)
    .option('-n, --tail <lines>', 'only the last N lines')
    .option('-t, --timestamps', 'show timestamps', false)
    .option('--since <time>', 'only entries since a date, a Unix time, or a duration ago (10m)')
    .option('--until <time>', 'only entries before a date, a Unix time, or a duration ago (10m)')
    .action(async (ref: string, o) => {
      const { parseTimeArg } = await import('./times.js');
      const { readLogs } = await import('../container/logs.js');
      const tail = o.tail === undefined || o.tail === 'all' ? undefined : Number(o.tail);
      if (tail !== undefined && !(tail >= 0)) {
        const { InvalidArgumentError } = await import('../errors.js');
        throw new InvalidArgumentError(`invalid --tail value "${o.tail}": a number or all`);
      }
      await readLogs(ref, {
        follow: o.follow,
        tail,
        timestamps: o.timestamps,
        since: o.since === undefined ? undefined : parseTimeArg(o.since, '--since'),
        until: o.until === undefined ? undefined : parseTimeArg(o.until, '--until'),
        write: (e) => (e.stream === 'stderr' ? process.stderr : process.stdout).write(e.text),
      });
    });

  program
    .command('attach')
    .description("Attach this terminal to a running container's output until it exits, and end with its exit code")
    .argument('<container>')
    .action(async (ref: string) => {
      const { readLogs } = await import('../container/logs.js');
      const { waitContainer } = await import('../container/stop.js');
      const { findContainer } = await import('../state/containers.js');
      const { isRunning } = await import('../container/reconcile.js');
      const { ConflictError } = await import('../errors.js');
      if (!isRunning(findContainer(ref))) throw new ConflictError('You cannot attach to a stopped container, start it first');
      await readLogs(ref, {
        follow: true,
        tail: 0,
        timestamps: false,
        write: (e) => (e.stream === 'stderr' ? process.stderr : process.stdout).write(e.text),
      });
      setExit(await waitContainer(ref));
    });

  program
    .command('rename')
    .description('Rename a container')
    .argument('<container>')
    .argument('<new-name>')
    .action(async (ref: string, name: string) => {
      const { renameExisting } = await import('../container/rename.js');
      renameExisting(ref, name);
    });

  for (const [verb, description] of [
    ['pause', 'Pause all processes in one or more containers (the freezer cgroup)'],
    ['unpause', 'Unpause all processes in one or more containers'],
  ] as const) {
    program
      .command(verb)
      .description(description)
      .argument('<container...>')
      .action(async (refs: string[]) => {
        const { pauseContainer, unpauseContainer } = await import('../container/pause.js');
        await forEachName(refs, setExit, async (ref) => {
          (verb === 'pause' ? pauseContainer : unpauseContainer)(ref);
          return ref;
        });
      });
  }

  program
    .command('cp')
    .description('Copy files between a container and the host; - for a tar stream on stdin or stdout')
    .usage('CONTAINER:SRC_PATH DEST_PATH|-\n       tbox cp SRC_PATH|- CONTAINER:DEST_PATH')
    .argument('<source>')
    .argument('<destination>')
    .action(async (source: string, destination: string) => {
      const { copyIn, copyOut } = await import('../container/copy/copy.js');
      const { InvalidArgumentError } = await import('../errors.js');
      // CONTAINER:PATH; a host path with a colon is written ./a:b, as for docker cp
      const split = (arg: string) => {
        const m = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*):(.*)$/.exec(arg);
        return m && !arg.startsWith('.') && !arg.startsWith('/') ? { ref: m[1]!, path: m[2] || '/' } : undefined;
      };
      const from = split(source);
      const to = split(destination);
      if (from && to) throw new InvalidArgumentError('copying between containers is not supported');
      if (from) await copyOut(from.ref, from.path, destination);
      else if (to) await copyIn(to.ref, source, to.path);
      else throw new InvalidArgumentError('must specify at least one container source');
    });

  program
    .command('diff')
    .description('Show what a container changed in its file system: A added, C changed, D deleted')
    .argument('<container>')
    .action(async (ref: string) => {
      const { findContainer } = await import('../state/containers.js');
      const { lookupImage, lowerDirs } = await import('../image/store.js');
      const { containerChanges } = await import('../container/changes.js');
      const c = findContainer(ref);
      const image = lookupImage(c.imageId);
      for (const ch of containerChanges(c.id, image ? lowerDirs(image) : [])) process.stdout.write(`${ch.kind} ${ch.path}\n`);
    });

  program
    .command('commit')
    .description("Create a new image from a container's changes")
    .argument('<container>')
    .argument('[repository[:tag]]')
    .option('-m, --message <text>', 'commit message')
    .option('-a, --author <name>', 'author, such as "Jane <jane@example.com>"')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR (repeatable)', collect, [])
    .option('-p, --pause <bool>', 'freeze the container while its changes are read', 'true')
    .action(async (ref: string, target: string | undefined, o) => {
      const { findContainer } = await import('../state/containers.js');
      const { commitContainer } = await import('../image/commit.js');
      const { parseChanges } = await import('../image/changes.js');
      const { reconcile } = await import('../container/reconcile.js');
      reconcile();
      const c = findContainer(ref);
      const id = await commitContainer(c, {
        reference: target,
        message: o.message,
        author: o.author,
        changes: parseChanges(o.change),
        pause: o.pause !== 'false',
      });
      process.stdout.write(`${id}\n`);
    });

  program
    .command('export')
    .description("Export a container's file system as a tar archive (to stdout unless -o)")
    .argument('<container>')
    .option('-o, --output <file>', 'write to a file')
    .action(async (ref: string, o) => {
      const { exportContainer } = await import('../container/copy/copy.js');
      const { InvalidArgumentError } = await import('../errors.js');
      if (!o.output && process.stdout.isTTY)
        throw new InvalidArgumentError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      await exportContainer(ref, o.output ?? process.stdout);
    });

  program
    .command('exec')
    .description('Run a command in a running container')
    .usage('[OPTIONS] CONTAINER COMMAND [ARG...]')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .option('-i, --interactive', 'keep stdin open', false)
    .option('-t, --tty', 'give the command the terminal', false)
    .option('-e, --env <KEY=VAL>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user>', "name|uid[:group|gid] (default: the container's user)")
    .action(async (container: string, cmd: string[], o) => {
      const { execInContainer } = await import('../container/exec.js');
      setExit(
        await execInContainer({ container, cmd, env: o.env, workdir: o.workdir, interactive: o.interactive, tty: o.tty, user: o.user }),
      );
    });

  program
    .command('ps')
    .description('List containers')
    .option('-a, --all', 'show all containers (default shows just running)', false)
    .option('-q, --quiet', 'only display container ids', false)
    .option('--no-trunc', "don't truncate output")
    .option('-f, --filter <key=value>', 'status, name, id, label, network, ancestor, exited (repeatable)', collect, [])
    .option('-n, --last <n>', 'the n last created containers (all states)')
    .option('-l, --latest', 'the latest created container (all states)', false)
    .option('-s, --size', 'the size of what each container wrote', false)
    .option('--format <format>', 'table, json, or a template like {{.ID}}')
    .action(async (o) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { listContainers } = await import('../state/containers.js');
      const { bindingsOf } = await import('../state/ports.js');
      const { filterContainers, parseFilters } = await import('../container/ps-filter.js');
      const wanted = parseFilters(o.filter);
      // the image store and the size walk load only for the filter and the flag that need them
      const lookupImage = wanted.has('ancestor') ? (await import('../image/store.js')).lookupImage : () => undefined;
      const upperSize = o.size ? (await import('../container/changes.js')).upperSize : () => 0;
      const last = o.latest ? 1 : o.last === undefined ? undefined : Number(o.last);
      reconcile();
      // Docker: -n and -l look at every container; a filter on status or exit code does too.
      const everyState = o.all || last !== undefined || wanted.has('status') || wanted.has('exited');
      let list = filterContainers(listContainers(), wanted, lookupImage).filter((c) => everyState || c.state === 'running');
      if (last !== undefined && last >= 0) list = list.slice(0, last);
      if (o.quiet) {
        for (const c of list) process.stdout.write(`${o.trunc === false ? c.id : c.id.slice(0, 12)}\n`);
        return;
      }
      const records = list.map((c) => ({
        ...psRecord(c, bindingsOf(c.id)),
        ...(o.trunc === false ? { ID: c.id, Command: `"${c.spec.args.join(' ')}"` } : {}),
        ...(o.size ? { Size: humanSize(upperSize(c.id)) } : {}),
      }));
      const size: [string[], string[]] = o.size ? [['SIZE'], ['Size']] : [[], []];
      printRecords(
        o.format,
        ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES', ...size[0]],
        ['ID', 'Image', 'Command', 'RunningFor', 'Status', 'Ports', 'Names', ...size[1]],
        records,
      );
    });

  program
    .command('inspect')
    .description('Show low-level information on containers (or images) as JSON')
    .argument('<name...>')
    .option('-f, --format <template>', 'a template like {{.NetworkSettings.IPAddress}}')
    .action(async (refs: string[], o) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { findContainer } = await import('../state/containers.js');
      const { inspectContainer } = await import('../container/inspect.js');
      const { lookupImage } = await import('../image/store.js');
      const { inspectImage } = await import('../image/inspect.js');
      const { NotFoundError } = await import('../errors.js');
      reconcile();
      const out: unknown[] = [];
      let failed: Error | undefined;
      for (const ref of refs) {
        try {
          out.push(inspectContainer(findContainer(ref)));
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
          const image = lookupImage(ref);
          if (image) out.push(inspectImage(image));
          // exit 1, as docker inspect gives for a name it does not know
          else failed = new NotFoundError(`No such object: ${ref}`, 1);
        }
      }
      if (o.format) for (const item of out) process.stdout.write(renderTemplate(o.format, item) + '\n');
      else process.stdout.write(JSON.stringify(out, null, 4) + '\n');
      if (failed) throw failed;
    });

  program
    .command('port')
    .description("List a container's published ports, or the host address of one")
    .argument('<container>')
    .argument('[port]', 'PRIVATE_PORT[/PROTO]')
    .action(async (ref: string, port: string | undefined) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { findContainer } = await import('../state/containers.js');
      const { bindingsOf } = await import('../state/ports.js');
      const { hostIpOf, parseExposed } = await import('../network/ports.js');
      const { NotFoundError } = await import('../errors.js');
      reconcile();
      const c = findContainer(ref);
      let bindings = c.state === 'running' ? bindingsOf(c.id) : [];
      if (port !== undefined) {
        const { ports, proto } = parseExposed(port, 'port');
        bindings = bindings.filter((b) => b.proto === proto && b.containerPort === ports[0]);
        if (bindings.length === 0) throw new NotFoundError(`No public port '${ports[0]}/${proto}' published for ${c.name}`, 1);
        for (const b of bindings) process.stdout.write(`${hostIpOf(b)}:${b.hostPort}\n`);
        return;
      }
      for (const b of bindings) process.stdout.write(`${b.containerPort}/${b.proto} -> ${hostIpOf(b)}:${b.hostPort}\n`);
    });

  program
    .command('rm')
    .description('Remove one or more containers')
    .argument('<container...>')
    .option('-f, --force', 'kill and remove a running container', false)
    .option('-v, --volumes', 'remove the anonymous volumes of the container', false)
    .action(async (refs: string[], o) => {
      const { removeContainer } = await import('../container/stop.js');
      await forEachName(refs, setExit, (ref) => removeContainer(ref, o.force, o.volumes));
    });
}
