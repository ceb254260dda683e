import fs from 'node:fs';

export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Start time in clock ticks since boot: with the pid, it names a process uniquely. */
  startTicks: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, startTicks: Number(fields[19]) };
}

/**
 * Is this the same process we started, and not yet dead? A zombie counts as
 * dead: pid 1 on some hosts reaps orphans late. A different start time means
 * the pid was reused.
 */
export function isAlive(pid: number | null, startTicks: number | null): boolean {
  if (!pid) return false;
  const st = readProcStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X' && (startTicks === null || st.startTicks === startTicks);
}

export async function waitForExit(pid: number, startTicks: number | null, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid, startTicks)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
