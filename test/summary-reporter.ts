/** Ends the run with the plain 'N passed, N failed' line that CI reads. */
import type { Reporter, RunnerTestFile } from 'vitest/node';

type Task = { type: string; mode?: string; result?: { state?: string }; tasks?: Task[] };

function count(tasks: Task[], totals = { passed: 0, failed: 0, skipped: 0 }) {
  for (const t of tasks) {
    if (t.tasks) count(t.tasks, totals);
    if (t.type !== 'test') continue;
    if (t.result?.state === 'pass') totals.passed++;
    else if (t.result?.state === 'fail') totals.failed++;
    else totals.skipped++;
  }
  return totals;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []) {
    const t = count(files as unknown as Task[]);
    const failed = t.failed + errors.length;
    process.stdout.write(`\n${t.passed} passed, ${failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}\n`);
  }
}
