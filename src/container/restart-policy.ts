/**
 * --restart, as Docker has it: no, always, unless-stopped, on-failure[:max].
 * There is no daemon, so the shim's exit hook (`tbox system reconcile`)
 * applies the policy when a container exits, after Docker's back-off.
 */
import { InvalidArgumentError } from '../errors.js';
import { getContainer, listContainers, type ContainerRecord } from '../state/containers.js';

export interface RestartPolicy {
  name: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  /** on-failure's retry limit; 0 means none */
  max: number;
}

export function parseRestartPolicy(text: string): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text);
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) {
    throw new InvalidArgumentError(`invalid restart policy "${text}": no, always, unless-stopped or on-failure[:max-retries]`);
  }
  return { name: m[1] as RestartPolicy['name'], max: m[2] === undefined ? 0 : Number(m[2]) };
}

/**
 * Should the policy bring this container back? Never once the user stopped
 * or killed it. (always and unless-stopped differ only when a daemon
 * restarts, and tbox has none.)
 */
export function wantsRestart(c: ContainerRecord): boolean {
  if (c.state !== 'exited' || c.stoppedByUser) return false;
  const policy = parseRestartPolicy(c.spec.restart ?? 'no');
  if (policy.name === 'no') return false;
  if (policy.name === 'on-failure') return c.exitCode !== 0 && (policy.max === 0 || c.restartCount < policy.max);
  return true;
}

/** Docker's back-off between restarts: 100 ms, doubling, at most a minute. */
export const backoffMs = (restarts: number) => Math.min(100 * 2 ** restarts, 60_000);

/** Restart what the policies ask for; returns the containers restarted. */
export async function applyRestartPolicies(start: (id: string) => Promise<void>): Promise<string[]> {
  const restarted: string[] = [];
  for (const c of listContainers()) {
    if (!wantsRestart(c)) continue;
    await new Promise((r) => setTimeout(r, backoffMs(c.restartCount)));
    const now = getContainer(c.id);
    if (!now || !wantsRestart(now)) continue;
    try {
      await start(c.id);
      restarted.push(c.id);
    } catch {
      // The next exit, or the user, tries again; the error is in its state.
    }
  }
  return restarted;
}
