import type { Command } from 'commander';
import { ago, printRecords, renderTemplate, truncate } from './format.js';
import { addResourceOptions, resourceFlags } from './resource-flags.js';
import { forEachName } from './each.js';
import type { ContainerRecord } from '../state/containers.js';
import type { PortBinding } from '../state/ports.js';
import { formatPortsColumn } from '../network/ports.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function statusText(c: ContainerRecord): string {
  if (c.state === 'running') return `Up ${ago(c.startedAt!).replace(/ ago$/, '')}`;
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
    State: c.state,
    Ports: c.state === 'running' ? formatPortsColumn(bindings, c.spec.exposed ?? []) : '',
    Names: c.name,
    Networks: c.spec.network,
  };
}

export function registerContainerCommands(program: Command, setExit: (code: number) => void): void {
  const run = program
    .command('run')
    .description('Create and run a new container from an image')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions()
    .option('--name <name>', 'assign a name to the container')
    .option('--rm', 'remove the container when it exits', false)
    .option('-d, --detach', 'run in the background and print the container id', false)
    .option('-e, --env <KEY=VAL>', 'set an environment variable (repeatable)', collect, [])
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('--entrypoint <cmd>', "override the image's entrypoint")
    .option('-h, --hostname <name>', 'container host name')
    .option('-u, --user <user>', 'name|uid[:group|gid] to run as')
    .option('--network <network>', 'bridge (default), host, none, or a network from tbox network create', 'bridge')
    .option('--ip <address>', 'IPv4 address on a bridge network')
    .option(
      '-p, --publish <[ip:][hostPort:]containerPort[/proto]>',
      "publish a container's port to the host (repeatable; ranges too)",
      collect,
      [],
    )
    .option('-P, --publish-all', 'publish every exposed port to a free host port', false)
    .option('--expose <port[/proto]>', 'expose a port or a range (repeatable)', collect, [])
    .option('--network-alias <name>', 'another name peers on a user network reach this container by (repeatable)', collect, [])
    .option('--add-host <host:ip>', 'add a line to /etc/hosts (repeatable; ip may be host-gateway)', collect, [])
    .option('--dns <ip>', 'a DNS server for /etc/resolv.conf (repeatable)', collect, [])
    .option('--dns-search <domain>', 'a DNS search domain (repeatable)', collect, [])
    .option('--dns-option <option>', 'a resolv.conf option (repeatable)', collect, [])
    .option(
      '-v, --volume <[source:]target[:opts]>',
      'a volume (NAME:/path), a host path (/host:/path), or an anonymous volume (/path)',
      collect,
      [],
    )
    .option('--mount <spec>', 'type=bind|volume|tmpfs,source=...,target=...[,readonly] (repeatable)', collect, [])
    .option('--tmpfs <path[:options]>', 'a tmpfs at path, e.g. /run:size=64m,mode=1777 (repeatable)', collect, [])
    .option('--volumes-from <container[:ro|rw]>', "another container's volumes and binds (repeatable)", collect, [])
    .option('--read-only', "mount the container's root read-only", false)
    .option('--pull <policy>', 'pull the image: missing, always, never', 'missing')
    .option('--restart <policy>', 'no, always, unless-stopped, on-failure[:max-retries]', 'no')
    .option('-i, --interactive', 'keep stdin open', false)
    .option('-t, --tty', 'give the container the terminal', false)
    .option('--cap-add <cap>', 'add a Linux capability (repeatable; ALL for every one)', collect, [])
    .option('--cap-drop <cap>', 'drop a Linux capability (repeatable; ALL for every one)', collect, [])
    .option('--privileged', "the host's capabilities and devices, no seccomp, no masked or read-only paths", false)
    .option('--security-opt <opt>', 'no-new-privileges, seccomp=unconfined or seccomp=PROFILE.json (repeatable)', collect, [])
    .option('--device <dev>', 'add a host device: HOST[:CONTAINER][:rwm] (repeatable)', collect, [])
    .action(async (image: string, cmd: string[], o) => {
      const { runContainer } = await import('../container/run.js');
      const { parsePullPolicy } = await import('../image/resolve.js');
      const result = await runContainer({
        image,
        cmd,
        name: o.name,
        autoRemove: o.rm,
        detach: o.detach,
        env: o.env,
        envFiles: o.envFile,
        workdir: o.workdir,
        entrypoint: o.entrypoint,
        hostname: o.hostname,
        network: o.network,
        ip: o.ip,
        pull: parsePullPolicy(o.pull),
        restart: o.restart,
        interactive: o.interactive,
        tty: o.tty,
        user: o.user,
        capAdd: o.capAdd,
        capDrop: o.capDrop,
        privileged: o.privileged,
        securityOpt: o.securityOpt,
        devices: o.device,
        resources: resourceFlags(o),
        publish: o.publish,
        publishAll: o.publishAll,
        expose: o.expose,
        networkAlias: o.networkAlias,
        addHost: o.addHost,
        dns: o.dns,
        dnsSearch: o.dnsSearch,
        dnsOption: o.dnsOption,
        volume: o.volume,
        mount: o.mount,
        tmpfs: o.tmpfs,
        volumesFrom: o.volumesFrom,
        readOnly: o.readOnly,
      });
      if (o.detach) process.stdout.write(`${result.id}\n`);
      setExit(result.exitCode);
    });
  addResourceOptions(run);

  program
    .command('start')
    .description('Start one or more stopped containers')
    .argument('<container...>')
    .action(async (refs: string[]) => {
      const { startExisting } = await import('../container/run.js');
      await forEachName(refs, setExit, async (ref) => {
        await startExisting(ref);
        return ref;
      });
    });

  program
    .command('stop')
    .description('Stop one or more running containers: SIGTERM, then SIGKILL after a grace period')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'seconds to wait before killing', '10')
    .action(async (refs: string[], o) => {
      const { stopContainer } = await import('../container/stop.js');
      await forEachName(refs, setExit, async (ref) => {
        await stopContainer(ref, Number(o.time));
        return ref;
      });
    });

  program
    .command('restart')
    .description('Restart one or more containers')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'seconds to wait before killing', '10')
    .action(async (refs: string[], o) => {
      const { stopContainer } = await import('../container/stop.js');
      const { startExisting } = await import('../container/run.js');
      await forEachName(refs, setExit, async (ref) => {
        await stopContainer(ref, Number(o.time));
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
    .action(async (ref: string, o) => {
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
        write: (e) => (e.stream === 'stderr' ? process.stderr : process.stdout).write(e.text),
      });
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
    .option('--format <format>', 'table, json, or a template like {{.ID}}')
    .action(async (o) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { listContainers } = await import('../state/containers.js');
      const { bindingsOf } = await import('../state/ports.js');
      reconcile();
      const list = listContainers().filter((c) => o.all || c.state === 'running');
      if (o.quiet) {
        for (const c of list) process.stdout.write(`${o.trunc === false ? c.id : c.id.slice(0, 12)}\n`);
        return;
      }
      const records = list.map((c) => ({
        ...psRecord(c, bindingsOf(c.id)),
        ...(o.trunc === false ? { ID: c.id, Command: `"${c.spec.args.join(' ')}"` } : {}),
      }));
      printRecords(
        o.format,
        ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
        ['ID', 'Image', 'Command', 'RunningFor', 'Status', 'Ports', 'Names'],
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
          if (image) out.push({ Id: image.id, RepoTags: image.tags, Created: image.createdAt, Size: image.size, ...image.config });
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
