/** stats, top and update: what a container uses, and its limits. */
import type { Command } from 'commander';
import { printRecords, table } from './format.js';
import { addResourceOptions, resourceFlags } from './resource-flags.js';

/** go-units' "%.4g" sizes: binary for memory (MiB), decimal for I/O (kB), as docker stats prints them. */
function units(bytes: number, base: 1000 | 1024): string {
  const names = base === 1024 ? ['B', 'KiB', 'MiB', 'GiB', 'TiB'] : ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= base && i < names.length - 1) {
    v /= base;
    i++;
  }
  return `${Number(v.toPrecision(4))}${names[i]}`;
}

export function registerStatsCommands(program: Command): void {
  program
    .command('stats')
    .description("Display a live stream of containers' resource usage")
    .argument('[container...]')
    .option('--no-stream', 'print the first result and exit')
    .option('--format <format>', 'table (default), json, or a Go template')
    .action(async (refs: string[], o) => {
      const { sample, statsTargets, cpuPercent } = await import('../container/stats.js');
      const render = (before: ReturnType<typeof sample>[], after: ReturnType<typeof sample>[]) =>
        after.map((b, i) => {
          const a = before[i]!;
          return {
            ID: b.id.slice(0, 12),
            Container: b.id.slice(0, 12),
            Name: b.name,
            CPUPerc: `${cpuPercent(a, b).toFixed(2)}%`,
            MemUsage: `${units(b.memory, 1024)} / ${units(b.limit, 1024)}`,
            MemPerc: `${((b.memory / b.limit) * 100).toFixed(2)}%`,
            NetIO: `${units(b.netRx, 1000)} / ${units(b.netTx, 1000)}`,
            BlockIO: `${units(b.blockRead, 1000)} / ${units(b.blockWrite, 1000)}`,
            PIDs: String(b.pids),
          };
        });
      const headers = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];
      const keys = ['ID', 'Name', 'CPUPerc', 'MemUsage', 'MemPerc', 'NetIO', 'BlockIO', 'PIDs'];
      const targets = statsTargets(refs);
      let before = targets.map(sample);
      const tty = process.stdout.isTTY && o.stream !== false;
      // A CPU figure needs two readings; docker stats --no-stream waits for its second too.
      for (;;) {
        await new Promise((r) => setTimeout(r, o.stream === false ? 500 : 1000));
        const after = targets.map(sample);
        if (tty) process.stdout.write('\x1b[2J\x1b[H');
        printRecords(o.format, headers, keys, render(before, after));
        if (o.stream === false) return;
        before = after;
      }
    });

  program
    .command('top')
    .description('Display the running processes of a container')
    .argument('<container>')
    .action(async (ref: string) => {
      const { topOf } = await import('../container/stats.js');
      const rows = topOf(ref);
      const cols = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'] as const;
      process.stdout.write(
        table(
          [...cols],
          rows.map((r) => cols.map((c) => r[c])),
        ),
      );
    });

  const update = program
    .command('update')
    .description("Update a container's resource limits")
    .argument('<container...>')
    .action(async (refs: string[], o) => {
      const { updateContainer } = await import('../container/update.js');
      for (const ref of refs) {
        updateContainer(ref, resourceFlags(o));
        process.stdout.write(`${ref}\n`);
      }
    });
  addResourceOptions(update);
}
