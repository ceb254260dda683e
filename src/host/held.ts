/**
 * Host state held only while a command streams (a frozen container, a
 * mounted view): let go however the command ends. A `finally` covers errors;
 * a reader that went away (EPIPE ends tbox at once) or Ctrl-C would skip it,
 * so the undo steps are also run from there (releaseAll).
 */
const held = new Set<() => void>();

export function releaseAll(): void {
  for (const undo of [...held].reverse()) {
    held.delete(undo);
    try {
      undo();
    } catch {
      // ending anyway: the next undo still runs
    }
  }
}

function onSignal(signal: NodeJS.Signals, code: number): void {
  process.once(signal, () => {
    releaseAll();
    process.exit(code);
  });
}

let signalsHooked = false;

export async function whileHeld<T>(undo: () => void, use: () => Promise<T>): Promise<T> {
  if (!signalsHooked) {
    signalsHooked = true;
    onSignal('SIGINT', 130);
    onSignal('SIGTERM', 143);
  }
  held.add(undo);
  try {
    return await use();
  } finally {
    if (held.delete(undo)) undo();
  }
}
