/**
 * A compose file, read into the subset of the Compose Spec tbox runs:
 * services (image, command, entrypoint, environment, env_file, ports,
 * volumes, networks, depends_on, restart, hostname, container_name) and
 * top-level networks and volumes. Anything else is refused by name, so a
 * file is never half understood.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { InvalidArgumentError, NotFoundError } from '../errors.js';

export interface Service {
  name: string;
  image: string;
  command?: string[];
  entrypoint?: string;
  environment: string[];
  envFiles: string[];
  ports: string[];
  volumes: string[];
  network: string;
  dependsOn: string[];
  restart?: string;
  hostname?: string;
  containerName: string;
}

export interface Resource {
  name: string;
  external: boolean;
}

export interface Project {
  name: string;
  dir: string;
  services: Service[];
  /** network and volume keys -> the name tbox knows each by, and whether the project made it (not external) */
  networks: Map<string, Resource>;
  volumes: Map<string, Resource>;
}

const SERVICE_KEYS = new Set([
  'image', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'volumes', 'networks',
  'depends_on', 'restart', 'hostname', 'container_name',
]); // prettier-ignore
const TOP_KEYS = new Set(['version', 'name', 'services', 'networks', 'volumes']);

const fail = (what: string): never => {
  throw new InvalidArgumentError(`compose file: ${what}`);
};
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A command as a list, or a string split as a shell would split words (no shell runs it). */
function words(v: unknown, where: string): string[] {
  if (typeof v === 'string') return v.match(/"[^"]*"|'[^']*'|\S+/g)?.map((w) => w.replace(/^(["'])(.*)\1$/, '$2')) ?? [];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return fail(`${where} is neither a string nor a list of strings`);
}

function stringList(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
  return fail(`${where} is not a list of strings`);
}

/** environment: a list of KEY=VAL or a map (a null value takes the host's, as a bare KEY does). */
function environment(v: unknown, where: string): string[] {
  if (isMap(v)) return Object.entries(v).map(([k, val]) => (val === null || val === undefined ? k : `${k}=${String(val)}`));
  return stringList(v, where);
}

/** ports: "8080:80", 80, or the long form {target, published, protocol, host_ip}. */
function ports(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return fail(`${where} is not a list`);
  return v.map((p) => {
    if (typeof p === 'string' || typeof p === 'number') return String(p);
    if (isMap(p) && p.target !== undefined) {
      const host = p.published === undefined ? '' : `${p.host_ip ? `${String(p.host_ip)}:` : ''}${String(p.published)}:`;
      return `${host}${String(p.target)}${p.protocol ? `/${String(p.protocol)}` : ''}`;
    }
    return fail(`${where}: an entry is neither "HOST:CONTAINER" nor {target, published}`);
  });
}

function dependsOn(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (isMap(v)) {
    for (const [dep, cond] of Object.entries(v)) {
      const condition = isMap(cond) ? cond.condition : undefined;
      if (condition !== undefined && condition !== 'service_started') {
        fail(`${where}.${dep}: condition ${String(condition)} is not supported (tbox has no healthchecks): use service_started`);
      }
    }
    return Object.keys(v);
  }
  return stringList(v, where);
}

/** Docker Compose's project name: lower case letters, digits, '-' and '_'. */
export function projectName(given: string | undefined, fromFile: unknown, dir: string): string {
  const raw = given ?? process.env.COMPOSE_PROJECT_NAME ?? (typeof fromFile === 'string' ? fromFile : path.basename(dir));
  const name = raw.toLowerCase().replace(/[^a-z0-9_-]/g, '');
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) fail(`project name "${raw}" has no usable characters: give one with -p`);
  return name;
}

export function loadProject(file: string, nameFlag?: string): Project {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new NotFoundError(`no compose file at ${file}: give one with -f`);
  }
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch (err) {
    return fail(`${path.basename(file)} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isMap(doc)) return fail('the top level is not a map');
  for (const key of Object.keys(doc)) if (!TOP_KEYS.has(key)) fail(`top-level key "${key}" is not supported`);
  const dir = path.dirname(path.resolve(file));
  const name = projectName(nameFlag, doc.name, dir);
  const services = doc.services;
  if (!isMap(services) || Object.keys(services).length === 0) return fail('no services');

  const resources = (top: unknown) =>
    new Map(
      Object.entries(isMap(top) ? top : {}).map(([key, value]): [string, Resource] => {
        const spec = isMap(value) ? value : {};
        const external = spec.external === true;
        return [key, { name: typeof spec.name === 'string' ? spec.name : external ? key : `${name}_${key}`, external }];
      }),
    );
  const networks = new Map([['default', { name: `${name}_default`, external: false }], ...resources(doc.networks)]);
  const volumes = resources(doc.volumes);

  const list = Object.entries(services).map(([svc, raw]): Service => {
    const where = `services.${svc}`;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(svc)) fail(`service name "${svc}" is not valid`);
    if (!isMap(raw)) return fail(`${where} is not a map`);
    for (const key of Object.keys(raw)) if (!SERVICE_KEYS.has(key)) fail(`${where}.${key} is not supported by tbox`);
    if (typeof raw.image !== 'string') return fail(`${where} has no image (tbox does not build)`);
    const nets = Array.isArray(raw.networks) ? raw.networks : isMap(raw.networks) ? Object.keys(raw.networks) : ['default'];
    if (nets.length !== 1 || typeof nets[0] !== 'string') fail(`${where}.networks: tbox puts a service on one network`);
    const network =
      networks.get(nets[0] as string)?.name ?? fail(`${where}.networks: "${String(nets[0])}" is not in the top-level networks`);
    const vols = stringList(raw.volumes, `${where}.volumes`).map((v) => {
      const [source, ...rest] = v.split(':');
      if (rest.length === 0) return v;
      // ./data or ../data: a host path next to the compose file; a name: a top-level volume
      if (source!.startsWith('.') || source!.startsWith('~')) return [path.resolve(dir, source!), ...rest].join(':');
      if (source!.startsWith('/')) return v;
      const volume = volumes.get(source!)?.name ?? fail(`${where}.volumes: "${source}" is not in the top-level volumes`);
      return [volume, ...rest].join(':');
    });
    return {
      name: svc,
      image: raw.image,
      command: raw.command === undefined ? undefined : words(raw.command, `${where}.command`),
      entrypoint: raw.entrypoint === undefined ? undefined : words(raw.entrypoint, `${where}.entrypoint`).join(' '),
      environment: environment(raw.environment, `${where}.environment`),
      envFiles: stringList(raw.env_file, `${where}.env_file`).map((f) => path.resolve(dir, f)),
      ports: ports(raw.ports, `${where}.ports`),
      volumes: vols,
      network,
      dependsOn: dependsOn(raw.depends_on, `${where}.depends_on`),
      restart: typeof raw.restart === 'string' ? raw.restart : undefined,
      hostname: typeof raw.hostname === 'string' ? raw.hostname : undefined,
      containerName: typeof raw.container_name === 'string' ? raw.container_name : `${name}_${svc}_1`,
    };
  });
  return { name, dir, services: startOrder(list), networks, volumes };
}

/** depends_on as a start order; a cycle or an unknown service is an error. */
export function startOrder(services: Service[]): Service[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const order: Service[] = [];
  const visit = (s: Service) => {
    if (done.has(s.name)) return;
    if (visiting.has(s.name)) fail(`depends_on has a cycle through ${s.name}`);
    visiting.add(s.name);
    for (const d of s.dependsOn) visit(byName.get(d) ?? fail(`services.${s.name}.depends_on: no service "${d}"`));
    visiting.delete(s.name);
    done.add(s.name);
    order.push(s);
  };
  services.forEach(visit);
  return order;
}
