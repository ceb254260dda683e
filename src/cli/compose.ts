import fs from 'node:fs';
import type { Command } from 'commander';
import { collect } from './run-flags.js';
import { printRecords } from './format.js';

/** The file Docker Compose looks for, in its order. */
const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

async function project(compose: Command) {
  const { loadProject } = await import('../compose/project.js');
  const o = compose.opts();
  return loadProject(o.file ?? DEFAULT_FILES.find((f) => fs.existsSync(f)) ?? DEFAULT_FILES[0]!, o.projectName);
}

const say = (line: string) => process.stdout.write(` ✔ ${line}\n`);

export function registerComposeCommands(program: Command, setExit: (code: number) => void): void {
  const compose = program
    .command('compose')
    .description('Run a multi-container application from a compose file')
    .option('-f, --file <file>', 'the compose file (default: compose.yaml)')
    .option('-p, --project-name <name>', 'the project name (default: the directory name)');

  compose
    .command('up')
    .description("Create and start the services' containers, networks and volumes")
    .option('-d, --detach', 'leave them running in the background', false)
    .action(async (o) => {
      const { composeUp, projectContainers } = await import('../compose/compose.js');
      const p = await project(compose);
      await composeUp(p, say);
      if (o.detach) return;
      // attached: every service's output, prefixed with its container, until all exit
      const { readLogs } = await import('../container/logs.js');
      const containers = projectContainers(p.name);
      const width = Math.max(...containers.map((c) => c.name.length));
      await Promise.all(
        containers.map((c) =>
          readLogs(c.id, { follow: true, timestamps: false, write: (e) => process.stdout.write(`${c.name.padEnd(width)}  | ${e.text}`) }),
        ),
      );
    });

  compose
    .command('down')
    .description("Stop and remove the project's containers and networks")
    .option('-v, --volumes', 'remove its named volumes too', false)
    .action(async (o) => {
      const { composeDown } = await import('../compose/compose.js');
      await composeDown(await project(compose), o.volumes, say);
    });

  compose
    .command('ps')
    .description("List the project's containers")
    .option('-a, --all', 'stopped ones too', false)
    .option('-q, --quiet', 'only ids', false)
    .option('--format <format>', 'table, json, or a template')
    .action(async (o) => {
      const { projectContainers, SERVICE_LABEL } = await import('../compose/compose.js');
      const { statusWord } = await import('../state/containers.js');
      const list = projectContainers((await project(compose)).name).filter((c) => o.all || c.state === 'running');
      if (o.quiet) return list.forEach((c) => process.stdout.write(`${c.id}\n`));
      const records = list.map((c) => ({
        Name: c.name,
        Image: c.imageRef,
        Command: `"${c.spec.args.join(' ')}"`,
        Service: c.spec.labels?.[SERVICE_LABEL] ?? '',
        State: statusWord(c),
        Status: c.state === 'exited' ? `exited (${c.exitCode})` : statusWord(c),
        ID: c.id.slice(0, 12),
      }));
      printRecords(o.format, ['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'STATUS'], ['Name', 'Image', 'Command', 'Service', 'Status'], records);
    });

  compose
    .command('logs')
    .description("Show the services' output")
    .argument('[service...]')
    .option('-f, --follow', 'follow until the containers exit', false)
    .action(async (services: string[], o) => {
      const { serviceContainer } = await import('../compose/compose.js');
      const { readLogs } = await import('../container/logs.js');
      const p = await project(compose);
      const containers = (services.length ? services : p.services.map((s) => s.name)).map((s) => serviceContainer(p, s));
      const width = Math.max(...containers.map((c) => c.name.length));
      await Promise.all(
        containers.map((c) =>
          readLogs(c.id, {
            follow: o.follow,
            timestamps: false,
            write: (e) => (e.stream === 'stderr' ? process.stderr : process.stdout).write(`${c.name.padEnd(width)}  | ${e.text}`),
          }),
        ),
      );
    });

  compose
    .command('exec')
    .description("Run a command in a service's running container")
    .argument('<service>')
    .argument('<command...>')
    .passThroughOptions()
    .option('-T, --no-TTY', 'no terminal (tbox never gives exec one unless -t)')
    .option('-e, --env <KEY=VAL>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory')
    .option('-u, --user <user>', 'run as this user')
    .action(async (service: string, cmd: string[], o) => {
      const { serviceContainer } = await import('../compose/compose.js');
      const { execInContainer } = await import('../container/exec.js');
      const c = serviceContainer(await project(compose), service);
      setExit(
        await execInContainer({ container: c.id, cmd, env: o.env, workdir: o.workdir, user: o.user, interactive: false, tty: false }),
      );
    });
}
