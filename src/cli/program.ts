/**
 * The command line: parse, call the library, print. Library modules are
 * imported inside each action so a command loads only what it uses.
 */
import { Command, CommanderError } from 'commander';
import { TboxError, EXIT_TBOX, asTboxError } from '../errors.js';
import { isDebug, setDebug } from '../host/command.js';
import { setExplain } from '../host/explain.js';
import { registerContainerCommands } from './containers.js';
import { registerImageCommands } from './images.js';
import { registerNetworkCommands } from './networks.js';
import { registerSystemCommands } from './system.js';
import { registerStatsCommands } from './stats.js';
import { registerVolumeCommands } from './volumes.js';
import { registerDiagnoseCommands } from './diagnose.js';

/** With --debug: the chain of causes, each with its stack. */
function causes(err: unknown): string {
  let out = '';
  for (let c = (err as Error)?.cause; c; c = (c as Error).cause) out += `caused by: ${(c as Error).stack ?? String(c)}\n`;
  return out;
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new TboxError('tbox needs root for namespaces, mounts and networking: run it as root (sudo tbox ...)');
  }
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('tbox')
    .description('A small Docker-like container runtime that shows the kernel parts it is made of')
    .version('0.1.0', '-v, --version')
    .option('-D, --debug', 'print every host command tbox runs')
    .option('--explain', 'print each change made to the host as the command a person would type, with why')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`tbox: ${s.replace(/^error: /, '')}`) })
    .hook('preAction', (cmd) => {
      if (cmd.opts().debug) setDebug(true);
      if (cmd.opts().explain) setExplain(true);
      requireRoot();
    });
  const setExit = (code: number) => {
    exitCode = code;
  };
  registerContainerCommands(program, setExit);
  registerImageCommands(program, setExit);
  registerNetworkCommands(program, setExit);
  registerSystemCommands(program, setExit);
  registerStatsCommands(program);
  registerVolumeCommands(program, setExit);
  registerDiagnoseCommands(program, setExit);
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
    return e.exitCode;
  }
}
