/**
 * `tbox completion bash|zsh|fish`: a script that completes commands,
 * subcommands and flags (read from this very command tree, so it cannot
 * lag behind), and container, image, network and volume names (asked of
 * tbox when Tab is pressed).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';

interface Entry {
  path: string;
  subcommands: string[];
  flags: string[];
}

function entries(cmd: Command, prefix = ''): Entry[] {
  const here: Entry = {
    path: prefix,
    subcommands: cmd.commands.map((c) => c.name()),
    flags: cmd.options.flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f))),
  };
  return [here, ...cmd.commands.flatMap((c) => entries(c, prefix ? `${prefix} ${c.name()}` : c.name()))];
}

/** What tbox is asked for names, when Tab is pressed where one goes. */
const NAMES =
  "{ tbox ps -a --format '{{.Names}}'; tbox images --format '{{.Repository}}:{{.Tag}}'; tbox network ls --format '{{.Name}}'; tbox volume ls -q; } 2>/dev/null";

function bash(tree: Entry[]): string {
  const cases = tree.map((e) => `    '${e.path}') words='${[...e.subcommands, ...e.flags].join(' ')}' ;;`).join('\n');
  return `# tbox completion for bash: eval "$(tbox completion bash)"
_tbox() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path='' i w words
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    case "$path \${w}" in
${tree
  .filter((e) => e.path)
  .map((e) => `      ' ${e.path}'|'${e.path}') path='${e.path}' ;;`)
  .join('\n')}
    esac
  done
  case "$path" in
${cases}
    *) words='' ;;
  esac
  if [[ $cur != -* ]]; then words="$words $(${NAMES})"; fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _tbox tbox
`;
}

function zsh(tree: Entry[]): string {
  return `#compdef tbox
# tbox completion for zsh: eval "$(tbox completion zsh)" (it uses bash's, through bashcompinit)
autoload -U +X bashcompinit && bashcompinit
${bash(tree)}`;
}

function fish(tree: Entry[]): string {
  const top = tree[0]!;
  const lines = [
    '# tbox completion for fish: tbox completion fish | source',
    `complete -c tbox -f -n '__fish_use_subcommand' -a '${top.subcommands.join(' ')}'`,
    ...tree
      .filter((e) => e.path && !e.path.includes(' '))
      .flatMap((e) => [
        ...(e.subcommands.length ? [`complete -c tbox -f -n '__fish_seen_subcommand_from ${e.path}' -a '${e.subcommands.join(' ')}'`] : []),
        ...e.flags
          .filter((f) => f.startsWith('--'))
          .map((f) => `complete -c tbox -f -n '__fish_seen_subcommand_from ${e.path}' -l '${f.slice(2)}'`),
      ]),
    `complete -c tbox -f -n 'not __fish_use_subcommand' -a '(${NAMES.replace(/'/g, '"')})'`,
  ];
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: string, program: Command): string {
  const tree = entries(program);
  if (shell === 'bash') return bash(tree);
  if (shell === 'zsh') return zsh(tree);
  if (shell === 'fish') return fish(tree);
  throw new InvalidArgumentError(`unsupported shell "${shell}": bash, zsh or fish`);
}
