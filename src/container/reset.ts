import { listContainers } from '../state/containers.js';
import { listNetworks } from '../state/networks.js';
import { removeAllNetworks } from '../network/networks.js';
import { removeContainer } from './stop.js';

/** Put the host back as it was before tbox: no containers, bridges or rules. */
export async function resetSystem(): Promise<{ containers: number; networks: number }> {
  const containers = listContainers();
  for (const c of containers) await removeContainer(c.id, true);
  const networks = listNetworks().length;
  removeAllNetworks();
  return { containers: containers.length, networks };
}
