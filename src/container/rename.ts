/** `tbox rename`: a new name, which peers on its user networks learn at once. */
import { ConflictError } from '../errors.js';
import { findContainer, isUniqueViolation, renameContainer } from '../state/containers.js';
import { resolveNetwork } from '../network/networks.js';
import { refreshNetworkHosts } from '../network/hosts.js';
import { validateName } from './names.js';
import { isRunning, reconcile } from './reconcile.js';

export function renameExisting(ref: string, newName: string): void {
  reconcile();
  const c = findContainer(ref);
  const name = validateName(newName.replace(/^\//, ''));
  if (name === c.name) throw new ConflictError(`Renaming a container with the same name as its current name`);
  try {
    renameContainer(c.id, name);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    throw new ConflictError(
      `Conflict. The container name "/${name}" is already in use: remove (or rename) that container to reuse the name.`,
    );
  }
  const net = resolveNetwork(c.spec.network);
  if (net && !net.isDefault && isRunning(c)) refreshNetworkHosts(net.id);
}
