/**
 * `tbox compose`: a project's networks, volumes and containers made, started
 * in depends_on order, listed and removed, by the same library calls as
 * `tbox network create`, `tbox volume create` and `tbox run -d`. Each
 * container carries Docker Compose's labels, so `down` finds what `up` made.
 */
import { NotFoundError } from '../errors.js';
import { listContainers, type ContainerRecord } from '../state/containers.js';
import { networkByName } from '../state/networks.js';
import { getVolume } from '../state/volumes.js';
import { createNetwork, removeNetwork, resolveNetwork } from '../network/networks.js';
import { createVolume, removeVolume } from '../volume/volumes.js';
import { runContainer, startExisting } from '../container/run.js';
import { removeContainer } from '../container/stop.js';
import { isRunning, reconcile } from '../container/reconcile.js';
import type { Project, Service } from './project.js';

export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';

export function projectContainers(project: string): ContainerRecord[] {
  reconcile();
  return listContainers().filter((c) => c.spec.labels?.[PROJECT_LABEL] === project);
}

function ensureResources(p: Project, say: (line: string) => void): void {
  const used = new Set(p.services.map((s) => s.network));
  for (const net of p.networks.values()) {
    if (!used.has(net.name) || networkByName(net.name)) continue;
    if (net.external) throw new NotFoundError(`network ${net.name} declared as external, but could not be found`);
    createNetwork({ name: net.name });
    say(`Network ${net.name}  Created`);
  }
  for (const vol of p.volumes.values()) {
    if (getVolume(vol.name)) continue;
    if (vol.external) throw new NotFoundError(`volume ${vol.name} declared as external, but could not be found`);
    createVolume(vol.name);
    say(`Volume ${vol.name}  Created`);
  }
}

async function startService(p: Project, s: Service, say: (line: string) => void): Promise<void> {
  const existing = projectContainers(p.name).find((c) => c.name === s.containerName);
  if (existing && isRunning(existing)) return say(`Container ${s.containerName}  Running`);
  if (existing) {
    await startExisting(existing.id);
    return say(`Container ${s.containerName}  Started`);
  }
  await runContainer({
    image: s.image,
    cmd: s.command ?? [],
    entrypoint: s.entrypoint,
    name: s.containerName,
    hostname: s.hostname,
    env: s.environment,
    envFiles: s.envFiles,
    network: s.network,
    // peers reach a service by its name, as on Compose's networks
    networkAlias: resolveNetwork(s.network)?.isDefault ? [] : [s.name],
    publish: s.ports,
    volume: s.volumes,
    restart: s.restart,
    labels: [`${PROJECT_LABEL}=${p.name}`, `${SERVICE_LABEL}=${s.name}`],
    autoRemove: false,
    detach: true,
    tty: false,
    interactive: false,
  });
  say(`Container ${s.containerName}  Started`);
}

export async function composeUp(p: Project, say: (line: string) => void): Promise<void> {
  ensureResources(p, say);
  for (const s of p.services) await startService(p, s, say);
}

/** Remove the project's containers (newest dependants first), its networks, and with volumes its volumes. */
export async function composeDown(p: Project, volumes: boolean, say: (line: string) => void): Promise<void> {
  const order = [...p.services].reverse().map((s) => s.containerName);
  const containers = projectContainers(p.name).sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  for (const c of containers) {
    await removeContainer(c.id, true, volumes);
    say(`Container ${c.name}  Removed`);
  }
  for (const net of p.networks.values()) {
    if (net.external || !networkByName(net.name)) continue;
    removeNetwork(net.name);
    say(`Network ${net.name}  Removed`);
  }
  if (!volumes) return;
  for (const vol of p.volumes.values()) {
    if (vol.external || !getVolume(vol.name)) continue;
    removeVolume(vol.name);
    say(`Volume ${vol.name}  Removed`);
  }
}

/** The container of a service, for exec and logs. */
export function serviceContainer(p: Project, service: string): ContainerRecord {
  const s = p.services.find((x) => x.name === service);
  if (!s) throw new NotFoundError(`no such service: ${service}`);
  const c = projectContainers(p.name).find((x) => x.name === s.containerName);
  if (!c) throw new NotFoundError(`service "${service}" is not running`);
  return c;
}
