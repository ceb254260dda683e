#!/usr/bin/env node
/**
 * tbox-runtime: an OCI runtime with runc's command line, as conmon (Podman)
 * and containerd's runc shim call it. The argv is parsed by hand, runc's way
 * (-flag, --flag, --flag=value, flags before the id), because engines pass
 * flags tbox has no use for and expect them taken quietly; the work is in
 * src/runtime/. Errors are one line on stderr and, with --log, one line in
 * the engine's log in the --log-format it asked for; the exit code is 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { installDir } from '../paths.js';
import { asTboxError, InvalidArgumentError, TboxError } from '../errors.js';
import { setDebug, run } from '../host/command.js';
import { DEFAULT_RUNTIME_ROOT, RuntimeStore } from '../runtime/state.js';
import { OCI_VERSION } from '../runtime/spec.js';

/** A flag: its canonical name, and whether it takes a value. */
type FlagSpec = Record<string, { name: string; value: boolean }>;

const flag = (value: boolean, ...names: string[]): FlagSpec => Object.fromEntries(names.map((n) => [n, { name: names[0]!, value }]));

const GLOBAL: FlagSpec = {
  ...flag(true, 'root'),
  ...flag(true, 'log'),
  ...flag(true, 'log-format'),
  ...flag(false, 'systemd-cgroup'),
  ...flag(false, 'debug'),
  ...flag(true, 'rootless'),
  ...flag(true, 'criu'),
  ...flag(false, 'help', 'h'),
  ...flag(false, 'version', 'v'),
};

/** Each command's flags; those runc has and tbox need not act on are taken and left alone (see README). */
const COMMANDS: Record<string, FlagSpec> = {
  create: {
    ...flag(true, 'bundle', 'b'),
    ...flag(true, 'pid-file'),
    ...flag(true, 'console-socket'),
    ...flag(false, 'no-pivot'),
    ...flag(false, 'no-new-keyring'),
    ...flag(true, 'preserve-fds'),
  },
  start: {},
  state: {},
  kill: { ...flag(false, 'all', 'a') },
  delete: { ...flag(false, 'force', 'f') },
  exec: {
    ...flag(true, 'process', 'p'),
    ...flag(false, 'detach', 'd'),
    ...flag(true, 'pid-file'),
    ...flag(false, 'tty', 't'),
    ...flag(true, 'console-socket'),
    ...flag(true, 'cwd'),
    ...flag(true, 'env', 'e'),
    ...flag(true, 'user', 'u'),
    ...flag(true, 'preserve-fds'),
    ...flag(true, 'process-label'),
    ...flag(true, 'apparmor'),
    ...flag(false, 'no-new-privs'),
    ...flag(true, 'cap', 'c'),
    ...flag(true, 'cgroup'),
  },
  ps: { ...flag(true, 'format', 'f') },
  list: { ...flag(true, 'format', 'f'), ...flag(false, 'quiet', 'q') },
  features: {},
  spec: { ...flag(true, 'bundle', 'b'), ...flag(false, 'rootless') },
};

interface Parsed {
  flags: Map<string, string[]>;
  rest: string[];
}

/** Flags up to the first other word (or `--`); the rest are positional, as urfave/cli reads them. */
function parseFlags(args: string[], spec: FlagSpec, where: string): Parsed {
  const flags = new Map<string, string[]>();
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const eq = arg.indexOf('=');
    const word = arg.replace(/^--?/, '').slice(0, eq < 0 ? undefined : eq - (arg.startsWith('--') ? 2 : 1));
    const f = spec[word];
    if (!f) throw new InvalidArgumentError(`${where}: flag provided but not defined: -${word}`);
    let value = 'true';
    if (f.value) {
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (i + 1 < args.length) value = args[++i]!;
      else throw new InvalidArgumentError(`${where}: flag needs an argument: -${word}`);
    } else if (eq >= 0) value = arg.slice(eq + 1);
    flags.set(f.name, [...(flags.get(f.name) ?? []), value]);
  }
  return { flags, rest: args.slice(i) };
}

const one = (p: Parsed, name: string) => p.flags.get(name)?.at(-1);
const on = (p: Parsed, name: string) => ['true', '1'].includes(one(p, name) ?? 'false');

function idOf(p: Parsed, command: string): string {
  const id = p.rest[0];
  if (!id) throw new InvalidArgumentError(`${command}: a container id is required`);
  return id;
}

const printJson = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

/** `list`'s table, runc's columns, padded as text/tabwriter pads them. */
function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((cell, c) => (c < r.length - 1 ? cell.padEnd(widths[c]! + 3) : cell)).join('')}\n`);
}

async function dispatch(command: string, p: Parsed, store: RuntimeStore): Promise<number> {
  // Loaded per command: `state` and `kill` are called often and need little.
  switch (command) {
    case 'create': {
      const { createContainer } = await import('../runtime/create.js');
      await createContainer(store, idOf(p, command), {
        bundle: fs.realpathSync(one(p, 'bundle') ?? '.'),
        pidFile: one(p, 'pid-file'),
        consoleSocket: one(p, 'console-socket'),
      });
      return 0;
    }
    case 'start':
      (await import('../runtime/lifecycle.js')).startContainer(store, idOf(p, command));
      return 0;
    case 'state':
      printJson((await import('../runtime/lifecycle.js')).containerState(store, idOf(p, command)));
      return 0;
    case 'kill':
      (await import('../runtime/lifecycle.js')).killContainer(store, idOf(p, command), p.rest[1] ?? 'TERM', on(p, 'all'));
      return 0;
    case 'delete':
      await (await import('../runtime/lifecycle.js')).deleteContainer(store, idOf(p, command), on(p, 'force'));
      return 0;
    case 'exec': {
      const { execInContainer } = await import('../runtime/exec.js');
      return execInContainer(store, idOf(p, command), {
        processFile: one(p, 'process'),
        args: p.rest.slice(1),
        cwd: one(p, 'cwd'),
        env: p.flags.get('env') ?? [],
        user: one(p, 'user'),
        tty: on(p, 'tty'),
        detach: on(p, 'detach'),
        pidFile: one(p, 'pid-file'),
        consoleSocket: one(p, 'console-socket'),
      });
    }
    case 'ps': {
      const pids = (await import('../runtime/lifecycle.js')).containerPids(store, idOf(p, command));
      if (one(p, 'format') === 'json') printJson(pids);
      else if (pids.length) process.stdout.write(run('ps', ['-f', '-p', pids.join(',')]).stdout);
      return 0;
    }
    case 'list': {
      const { containerState } = await import('../runtime/lifecycle.js');
      const states = store.ids().map((id) => containerState(store, id));
      if (on(p, 'quiet')) for (const s of states) process.stdout.write(`${s.id}\n`);
      else if (one(p, 'format') === 'json') printJson(states);
      else
        printTable([
          ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
          ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner || 'root']),
        ]);
      return 0;
    }
    case 'features': {
      const { features } = await import('../runtime/spec.js');
      const { detectMode } = await import('../container/cgroups/cgroup.js');
      printJson(features(detectMode() !== 'v2'));
      return 0;
    }
    case 'spec': {
      const file = `${one(p, 'bundle') ?? '.'}/config.json`;
      if (fs.existsSync(file)) throw new TboxError(`File ${file} exists. Remove it first`, 1);
      fs.writeFileSync(file, `${JSON.stringify((await import('../runtime/spec.js')).defaultSpec(), null, 2)}\n`);
      return 0;
    }
  }
  throw new InvalidArgumentError(`unknown command "${command}"`);
}

const USAGE = `tbox-runtime: an OCI runtime (runc's command line)

usage: tbox-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [flags] ID

commands: create start state kill delete exec ps list features spec
`;

function versionText(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(installDir, 'package.json'), 'utf8')) as { version: string };
  return `tbox-runtime version ${pkg.version}\nspec: ${OCI_VERSION}\n`;
}

/** The error in the engine's log: containerd and conmon show its last "msg". */
function logError(file: string | undefined, format: string | undefined, msg: string): void {
  if (!file) return;
  const time = new Date().toISOString();
  const line = format === 'json' ? JSON.stringify({ level: 'error', msg, time }) : `time="${time}" level=error msg=${JSON.stringify(msg)}`;
  try {
    fs.appendFileSync(file, `${line}\n`);
  } catch {
    // the log is the engine's; stderr still has the message
  }
}

export async function main(argv: string[]): Promise<number> {
  let global: Parsed | undefined;
  try {
    global = parseFlags(argv, GLOBAL, 'tbox-runtime');
    if (on(global, 'version')) {
      process.stdout.write(versionText());
      return 0;
    }
    const [command, ...args] = global.rest;
    if (!command || on(global, 'help')) {
      process.stdout.write(USAGE);
      return command || on(global, 'help') ? 0 : 1;
    }
    const spec = COMMANDS[command];
    if (!spec) throw new InvalidArgumentError(`unknown command "${command}"`);
    if (on(global, 'systemd-cgroup')) {
      throw new InvalidArgumentError(
        '--systemd-cgroup is not supported: tbox-runtime manages cgroupfs paths (use cgroup_manager = "cgroupfs")',
      );
    }
    if (on(global, 'debug')) setDebug(true);
    if (process.getuid?.() !== 0) throw new TboxError('tbox-runtime needs root (rootless containers are not supported)', 1);
    const store = new RuntimeStore(one(global, 'root') ?? DEFAULT_RUNTIME_ROOT);
    return await dispatch(command, parseFlags(args, spec, command), store);
  } catch (err) {
    const e = asTboxError(err);
    process.stderr.write(`tbox-runtime: ${e.message}\n`);
    if (global) logError(one(global, 'log'), one(global, 'log-format'), e.message);
    return 1;
  }
}

process.env.PATH ||= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
