import type { Command } from 'commander';

export function registerDiagnoseCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('doctor')
    .description('Check what tbox stands on: tools, kernel, forwarding, other engines, subnets, leftovers; each failure with its fix')
    .action(async () => {
      const { reconcile } = await import('../container/reconcile.js');
      const { doctor } = await import('../diagnose/doctor.js');
      reconcile();
      let failed = 0;
      for (const { section, checks } of doctor()) {
        process.stdout.write(`${section}\n`);
        for (const c of checks) {
          process.stdout.write(`  ${c.ok ? '✔' : '✘'} ${c.what}\n`);
          if (!c.ok) {
            failed++;
            if (c.fix) process.stdout.write(`      fix: ${c.fix}\n`);
          }
        }
      }
      if (failed) setExit(1);
    });

  program
    .command('trace')
    .description('Explain the path a packet from a container takes to DEST (a container, an IP or host), and name the first broken link')
    .argument('<src>', 'a running container')
    .argument('<dest>', 'a container, an IPv4 address, or host; :PORT for a TCP port')
    .action(async (src: string, dest: string) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { trace } = await import('../diagnose/trace.js');
      reconcile();
      const result = trace(src, dest);
      const width = Math.max(...result.steps.map((s) => s.what.length));
      for (const s of result.steps) process.stdout.write(`${s.what.padEnd(width)}  ${s.detail}\n`);
      if (result.broken) {
        process.stdout.write(`✘ ${result.broken}\n`);
        setExit(1);
      } else process.stdout.write('✔ the path works\n');
    });
}
