/**
 * The container's spec as an OCI runtime-spec config.json (v1.0.2 field
 * names and meanings), written in the container's directory at each start.
 * It is the one source of truth: the launcher reads it to hand the shim its
 * flags, and `exec` reads it for the process's confinement. The defaults are
 * tables, as in runc's libcontainer/SPEC.md (and the README's).
 */
import fs from 'node:fs';
import path from 'node:path';
import { containerDir, volumeDataDir } from '../paths.js';
import type { ContainerDevice, ContainerRecord, ContainerResources } from '../state/containers.js';
import { parseResources } from './cgroups/resources.js';
import { cgroupParent } from './cgroups/cgroup.js';
import { ETC_FILES } from './etc-files.js';
import { buildSecurity } from './spec.js';
import { compileProfile, defaultProfileText, shimRules, type OciSeccomp } from './security/seccomp.js';

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** linux.devices entries; hostPath (tbox's) is the host node bound in. */
export type OciDevice = ContainerDevice;

export interface OciRlimit {
  type: string;
  soft: number;
  hard: number;
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
    noNewPrivileges: boolean;
    /** --ulimit */
    rlimits?: OciRlimit[];
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    /** with a path: join that namespace instead of making one */
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    devices: OciDevice[];
    /** absent: unconfined */
    seccomp?: OciSeccomp;
    resources: ContainerResources;
    /** where the container's cgroup is, relative to each hierarchy's root */
    cgroupsPath: string;
  };
  annotations: Record<string, string>;
}

/** Docker's masked paths: read as empty (a file gets /dev/null, a directory an empty read-only tmpfs). */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
]; // prettier-ignore

/** Docker's read-only paths. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The kernel file systems the shim mounts itself, in order (src/shim/rootfs.c); nodev goes on /dev unless privileged. */
export function kernelMounts(nodev: boolean): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k', ...(nodev ? ['nodev'] : [])],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  ];
}

/** The /etc files and the user's mounts, parents first (a volume on /etc goes under /etc/hosts, as in Docker). */
function bindMounts(c: ContainerRecord, dir: string): OciMount[] {
  const etc = ETC_FILES.map((f) => ({ destination: `/etc/${f}`, type: 'bind', source: path.join(dir, f), options: ['rbind', 'rprivate'] }));
  const depth = (m: OciMount) => m.destination.split('/').length;
  return [...etc, ...userMounts(c)].sort((a, b) => depth(a) - depth(b));
}

/** Linux's dev_t split into major and minor (the glibc encoding). */
export const deviceNumbers = (rdev: number) => ({ major: (rdev >>> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) });

/** Every character and block device in the host's /dev: what --privileged gets. */
function hostDevices(): OciDevice[] {
  const out: OciDevice[] = [];
  for (const name of fs.readdirSync('/dev')) {
    const p = path.join('/dev', name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (!st.isCharacterDevice() && !st.isBlockDevice()) continue;
    // The container's own tty and ptmx come from its devpts and the standard set.
    if (['tty', 'ptmx', 'console', 'null', 'zero', 'full', 'random', 'urandom'].includes(name)) continue;
    out.push({ path: p, type: st.isBlockDevice() ? 'b' : 'c', ...deviceNumbers(st.rdev), hostPath: p });
  }
  return out;
}

export interface ProcessUser {
  uid: number;
  gid: number;
}

/** Option that tells the shim to fill an empty volume from the image first (Docker's copy-up); mount(2) never sees it. */
export const SEED_OPTION = 'tbox.seed';

/** The user's mounts in OCI form: volumes and host paths as binds, and tmpfs with Docker's defaults first. */
function userMounts(c: ContainerRecord): OciMount[] {
  return (c.spec.mounts ?? []).map((m) => {
    if (m.type === 'tmpfs') {
      const options = ['nosuid', 'nodev', 'noexec', ...(m.readonly ? ['ro'] : []), ...(m.options ? m.options.split(',') : [])];
      return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options };
    }
    const seed = m.type === 'volume' && !m.nocopy;
    const source = m.type === 'volume' ? volumeDataDir(m.source) : m.source;
    return { destination: m.target, type: 'bind', source, options: ['rbind', m.readonly ? 'ro' : 'rw', ...(seed ? [SEED_OPTION] : [])] };
  });
}

/** netnsPid: --network container:X, whose pid 1's network namespace it joins (config.json's namespace path). */
export function buildOciSpec(c: ContainerRecord, user: ProcessUser | undefined, netnsPid?: number): OciSpec {
  const dir = containerDir(c.id);
  // A container made before confinement existed gets today's defaults.
  const sec = c.spec.security ?? buildSecurity({});
  const caps = sec.caps;
  const privileged = sec.privileged;
  const root = (user?.uid ?? 0) === 0;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: c.spec.tty,
      user: { uid: user?.uid ?? 0, gid: user?.gid ?? 0 },
      args: c.spec.args,
      env: c.spec.env,
      cwd: c.spec.cwd,
      // Docker: root gets the set in bounding, effective and permitted; another user only the bounding set.
      capabilities: { bounding: caps, effective: root ? caps : [], permitted: root ? caps : [], inheritable: [], ambient: [] },
      noNewPrivileges: sec.noNewPrivileges,
      ...(c.spec.ulimits?.length ? { rlimits: c.spec.ulimits } : {}),
    },
    root: { path: path.join(dir, 'rootfs'), readonly: c.spec.readOnly ?? false },
    hostname: c.spec.hostname,
    mounts: [...kernelMounts(!privileged), ...bindMounts(c, dir)],
    linux: {
      namespaces: [
        ...['pid', 'ipc', 'uts', 'mount'].map((type) => ({ type })),
        ...(c.spec.network === 'host' ? [] : [{ type: 'network', ...(netnsPid ? { path: `/proc/${netnsPid}/ns/net` } : {}) }]),
      ],
      maskedPaths: privileged ? [] : MASKED_PATHS,
      readonlyPaths: privileged ? [] : READONLY_PATHS,
      devices: [...(privileged ? hostDevices() : []), ...sec.devices],
      ...(sec.seccomp === 'unconfined'
        ? {}
        : { seccomp: compileProfile(sec.seccomp === 'default' ? defaultProfileText() : sec.seccomp, caps) }),
      resources: c.spec.resources ?? parseResources({}),
      cgroupsPath: `/${cgroupParent()}/${c.id}`,
    },
    // --init is no OCI field: runc's users put an init in args; tbox's shim is it, when this says so
    annotations: {
      'org.opencontainers.image.ref.name': c.imageRef,
      'io.tbox.name': c.name,
      ...(c.spec.init ? { 'io.tbox.init': 'true' } : {}),
    },
  };
}

export const ociConfigPath = (id: string) => path.join(containerDir(id), 'config.json');

export function writeOciSpec(id: string, spec: OciSpec): void {
  fs.writeFileSync(ociConfigPath(id), `${JSON.stringify(spec, null, 2)}\n`);
  if (spec.linux.seccomp) fs.writeFileSync(seccompRulesPath(id), shimRules(spec.linux.seccomp));
}

/** The seccomp rules in the shim's form, beside config.json. */
export const seccompRulesPath = (id: string) => path.join(containerDir(id), 'seccomp.rules');

/** A container started before config.json existed has none: then its record's spec, written as it would be now. */
export function readOciSpecOf(c: ContainerRecord): OciSpec {
  if (fs.existsSync(ociConfigPath(c.id))) return readOciSpec(c.id);
  const spec = buildOciSpec(c, undefined);
  writeOciSpec(c.id, spec);
  return spec;
}

export function readOciSpec(id: string): OciSpec {
  return JSON.parse(fs.readFileSync(ociConfigPath(id), 'utf8')) as OciSpec;
}
