/**
 * The command line: parse, call the library, print. Library modules are
 * imported inside each action so a command loads only what it uses.
 */
import { Command, CommanderError } from 'commander';
import { TboxError, EXIT_TBOX, asTboxError } from '../errors.js';
import { isDebug, setDebug } from '../host/command.js';
import { setExplain } from '../host/explain.js';
import { renderTemplate } from './format.js';

/** With --debug: the chain of causes, each with its stack. */
function causes(err: unknown): string {
  let out = '';
  for (let c = (err as Error)?.cause; c; c = (c as Error).cause) out += `caused by: ${(c as Error).stack ?? String(c)}\n`;
  return out;
}

/** Docker's grouping of `--help`, with one example per common command. */
const COMMON: [string, string][] = [
  ['run', 'tbox run --rm -it busybox sh'],
  ['exec', 'tbox exec -it web sh'],
  ['ps', "tbox ps -a --format '{{.Names}}\\t{{.Status}}'"],
  ['logs', 'tbox logs -f web'],
  ['pull', 'tbox pull alpine'],
  ['images', 'tbox images'],
];
const MANAGEMENT = ['compose', 'container', 'image', 'network', 'system', 'volume'];

/** A short form's name inside its management group: `container ls` is `ps`, `image rm` is `rmi`. */
const GROUP_NAMES: Record<string, [string, ...string[]]> = {
  ps: ['ls', 'list', 'ps'],
  images: ['ls', 'list'],
  rmi: ['rm', 'remove'],
};

/** `tbox container ...`, `tbox image ...`: the same commands as the short forms, as Docker's management syntax. */
function managementGroup(program: Command, name: string, description: string, register: (group: Command) => void): void {
  const group = program.command(name).description(description);
  register(group);
  for (const c of group.commands) {
    const [first, ...aliases] = GROUP_NAMES[c.name()] ?? [c.name()];
    c.name(first);
    if (aliases.length) c.aliases(aliases);
  }
}
const SEEING = ['doctor', 'trace'];

function groupCommands(program: Command): void {
  for (const c of program.commands) {
    const name = c.name();
    if (COMMON.some(([n]) => n === name)) c.helpGroup('Common Commands:');
    else if (MANAGEMENT.includes(name)) c.helpGroup('Management Commands:');
    else if (SEEING.includes(name)) c.helpGroup('Seeing the Network:');
    else c.helpGroup('Commands:');
  }
  program.addHelpText(
    'after',
    `\nExamples:\n${COMMON.map(([, e]) => `  ${e}`).join('\n')}\n  tbox --explain run -d -p 8080:80 busybox httpd -f -p 80\n  tbox trace web db\n`,
  );
}

type SetExit = (code: number) => void;

/** Which module defines which commands; test/unit/cli-registry.test.ts checks the lists against what each defines. */
export const REGISTRARS: { commands: string[]; register: (program: Command, setExit: SetExit) => Promise<void> }[] = [
  {
    commands: ['run', 'create', 'start', 'stop', 'restart', 'kill', 'wait', 'logs', 'attach', 'rename', 'pause', 'unpause'].concat([
      'cp',
      'diff',
      'commit',
      'export',
      'exec',
      'ps',
      'inspect',
      'port',
      'rm',
    ]),
    register: async (p, s) => (await import('./containers.js')).registerContainerCommands(p, s),
  },
  {
    commands: ['images', 'import', 'pull', 'push', 'load', 'save', 'history', 'tag', 'rmi'],
    register: async (p, s) => (await import('./images.js')).registerImageCommands(p, s),
  },
  { commands: ['stats', 'top', 'update'], register: async (p) => (await import('./stats.js')).registerStatsCommands(p) },
  {
    commands: ['container'],
    register: async (p, s) => {
      const [{ registerContainerCommands }, { registerStatsCommands }] = await Promise.all([
        import('./containers.js'),
        import('./stats.js'),
      ]);
      managementGroup(p, 'container', 'Manage containers', (group) => {
        registerContainerCommands(group, s);
        registerStatsCommands(group);
      });
    },
  },
  {
    commands: ['image'],
    register: async (p, s) => {
      const { registerImageCommands, registerImageGroupCommands } = await import('./images.js');
      managementGroup(p, 'image', 'Manage images', (group) => {
        registerImageCommands(group, s);
        registerImageGroupCommands(group);
      });
    },
  },
  { commands: ['network'], register: async (p, s) => (await import('./networks.js')).registerNetworkCommands(p, s) },
  { commands: ['system'], register: async (p, s) => (await import('./system.js')).registerSystemCommands(p, s) },
  { commands: ['info'], register: async (p) => (await import('./system.js')).registerInfoCommand(p) },
  { commands: ['volume'], register: async (p, s) => (await import('./volumes.js')).registerVolumeCommands(p, s) },
  { commands: ['doctor', 'trace'], register: async (p, s) => (await import('./diagnose.js')).registerDiagnoseCommands(p, s) },
  { commands: ['compose'], register: async (p, s) => (await import('./compose.js')).registerComposeCommands(p, s) },
  { commands: ['events'], register: async (p) => (await import('./events.js')).registerEventsCommand(p) },
];

/** The command named in argv, past tbox's own options; undefined for none, or for --help and --version. */
function commandName(argv: string[]): string | undefined {
  for (const arg of argv.slice(2)) {
    if (arg === '-D' || arg === '--debug' || arg === '--explain') continue;
    return arg.startsWith('-') ? undefined : arg;
  }
  return undefined;
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new TboxError('tbox needs root for namespaces, mounts and networking: run it as root (sudo tbox ...)');
  }
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  // Docker's table: run and create end 125 when tbox fails, 126/127 when the
  // command cannot run; exec ends 126/127 likewise; any other failure ends 1.
  let command = 'run';
  const program = new Command('tbox')
    .description('A small Docker-like container runtime that shows the kernel parts it is made of')
    .version('0.1.0', '-v, --version')
    .option('-D, --debug', 'print every host command tbox runs')
    .option('--explain', 'print each change made to the host as the command a person would type, with why')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`tbox: ${s.replace(/^error: /, '')}`) })
    .hook('preAction', (cmd, action) => {
      if (cmd.opts().debug) setDebug(true);
      if (cmd.opts().explain) setExplain(true);
      command = action.parent?.name() === 'compose' && action.name() === 'exec' ? 'compose-exec' : action.name();
      // printing a script or a version needs no root
      if (!['completion', 'version'].includes(action.name())) requireRoot();
    });
  const setExit = (code: number) => {
    exitCode = code;
  };
  // Before any command is added, so each inherits it: no "(default: false)" after a flag.
  program.configureHelp({
    optionDescription: (option) =>
      option.defaultValue === undefined ||
      option.defaultValue === false ||
      (Array.isArray(option.defaultValue) && option.defaultValue.length === 0)
        ? option.description
        : `${option.description} (default: ${JSON.stringify(option.defaultValue)})`,
  });
  const wanted = commandName(argv);
  // Only the command asked for is loaded and defined; help, completion and a name tbox does not know get them all.
  const some = REGISTRARS.filter((r) => wanted !== undefined && r.commands.includes(wanted));
  for (const r of some.length ? some : REGISTRARS) await r.register(program, setExit);
  program
    .command('completion')
    .description('Print a shell completion script: eval "$(tbox completion bash)"')
    .argument('<shell>', 'bash, zsh or fish')
    .action(async (shell: string) => {
      const { completionScript } = await import('./completion.js');
      process.stdout.write(completionScript(shell, program));
    });
  program
    .command('version')
    .description('Show the tbox version and what it runs on')
    .option('-f, --format <template>', 'a template like {{.Client.Version}}')
    .action(async (o) => {
      const { versionInfo, versionText } = await import('./version.js');
      const info = versionInfo();
      process.stdout.write(o.format ? `${renderTemplate(o.format, info)}\n` : versionText(info));
    });
  groupCommands(program);
  const overrideAll = (cmd: Command) => cmd.commands.forEach((c) => overrideAll(c.exitOverride()));
  overrideAll(program);
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // `tbox` alone shows the help, as `docker` alone does, and that is no error.
      const helpOrVersion = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code);
      return helpOrVersion || err.exitCode === 0 ? 0 : EXIT_TBOX;
    }
    const e = asTboxError(err);
    process.stderr.write(`tbox: ${e.message}\n`);
    if (isDebug()) process.stderr.write(`${(err as Error).stack ?? ''}\n${causes(err)}`);
    if (command === 'run' || command === 'create') return e.exitCode;
    return (command === 'exec' || command === 'compose-exec') && e.exitCode !== EXIT_TBOX ? e.exitCode : 1;
  }
}
