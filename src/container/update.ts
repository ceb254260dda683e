/** `tbox update`: change a container's limits, now if it runs and for its next start. */
import { InvalidArgumentError } from '../errors.js';
import { findContainer, updateSpec } from '../state/containers.js';
import { cgroupOf } from './cgroups/cgroup.js';
import { parseResources, type ResourceFlags } from './cgroups/resources.js';
import { isRunning, reconcile } from './reconcile.js';

export function updateContainer(ref: string, flags: ResourceFlags): void {
  reconcile();
  const c = findContainer(ref);
  const change = parseResources(flags, false);
  if (!change.memory && !change.cpu && !change.pids)
    throw new InvalidArgumentError('you must provide one or more flags when using this command');
  const current = c.spec.resources ?? parseResources({});
  const next = {
    memory: change.memory ?? current.memory,
    cpu: { ...current.cpu, ...change.cpu },
    pids: change.pids ?? current.pids,
  };
  if (isRunning(c)) cgroupOf(c.id).update(next);
  updateSpec(c.id, { resources: next });
}
