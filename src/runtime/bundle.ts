/**
 * A bundle's config.json, read as tbox's own OciSpec (src/container/oci.ts):
 * the same type `tbox run` writes, so the same launcher code turns it into
 * the shim's flags. The engine's config is trusted as runc trusts it, but it
 * is checked for shape, so a bad one is one line, not a crash half-way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { OciSpec } from '../container/oci.js';
import { CAPABILITIES } from '../container/security/capabilities.js';
import { cgroupAt, type Cgroup } from '../container/cgroups/cgroup.js';
import type { Resources } from '../container/cgroups/resources.js';

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

/** config.json as engines write it: tbox's OciSpec plus the fields tbox itself never sets. */
export interface BundleSpec extends OciSpec {
  hooks?: Partial<Record<HookKind, OciHook[]>>;
}

const bad = (why: string) => new InvalidArgumentError(`config.json: ${why}`);

/** Capability names the kernel of this tbox knows; others are left out, as runc leaves unknown ones out with a warning. */
const known = (caps: unknown): string[] =>
  Array.isArray(caps) ? caps.filter((c): c is string => (CAPABILITIES as readonly string[]).includes(c as string)) : [];

export function readBundle(bundle: string): BundleSpec {
  const file = path.join(bundle, 'config.json');
  let raw: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- checked field by field below
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`${file}: ${(err as Error).message}`);
  }
  const p = raw.process;
  if (!p || !Array.isArray(p.args) || p.args.length === 0 || !p.args.every((a: unknown) => typeof a === 'string')) {
    throw bad('process.args must be a non-empty list of strings');
  }
  if (typeof p.cwd !== 'string' || !p.cwd.startsWith('/')) throw bad('process.cwd must be an absolute path');
  if (typeof raw.root?.path !== 'string') throw bad('root.path is required');
  const linux = raw.linux ?? {};
  if (linux.namespaces?.some((n: { type?: string }) => n.type === 'user'))
    throw bad('user namespaces are not supported by tbox-runtime yet');
  const caps = p.capabilities ?? {};
  return {
    ...(raw as BundleSpec),
    ociVersion: String(raw.ociVersion ?? '1.0.2'),
    process: {
      ...p,
      terminal: p.terminal === true,
      user: { uid: Number(p.user?.uid ?? 0), gid: Number(p.user?.gid ?? 0) },
      env: Array.isArray(p.env) ? p.env.filter((e: unknown) => typeof e === 'string') : [],
      capabilities: {
        bounding: known(caps.bounding),
        effective: known(caps.effective),
        permitted: known(caps.permitted),
        inheritable: known(caps.inheritable),
        ambient: known(caps.ambient),
      },
      noNewPrivileges: p.noNewPrivileges === true,
      // RLIMIT_NOFILE and friends: the names the shim's --rlimit takes
      rlimits: Array.isArray(p.rlimits) ? p.rlimits : [],
    },
    root: { path: path.resolve(bundle, raw.root.path), readonly: raw.root.readonly === true },
    hostname: typeof raw.hostname === 'string' ? raw.hostname : '',
    mounts: Array.isArray(raw.mounts) ? raw.mounts : [],
    linux: {
      ...linux,
      namespaces: linux.namespaces ?? [],
      maskedPaths: linux.maskedPaths ?? [],
      readonlyPaths: linux.readonlyPaths ?? [],
      devices: (linux.devices ?? []).map((d: { path: string }) => ({ ...d, hostPath: d.path })),
      resources: linux.resources ?? {},
      cgroupsPath: typeof linux.cgroupsPath === 'string' ? linux.cgroupsPath : '',
    },
    annotations: raw.annotations ?? {},
  };
}

/**
 * linux.cgroupsPath as cgroupfs paths ("/parent/name", relative to each
 * hierarchy's root); "" gives tbox-runtime/<id>. systemd's "slice:prefix:name"
 * form is refused: --systemd-cgroup is not supported.
 */
export function cgroupOfBundle(spec: BundleSpec, id: string): Cgroup {
  const p = spec.linux.cgroupsPath || `/tbox-runtime/${id}`;
  if (p.includes(':')) throw bad(`cgroupsPath ${p} is in systemd's form; tbox-runtime manages cgroupfs paths only`);
  const rel = path.posix.normalize(`/${p}`).slice(1);
  if (!rel || rel.startsWith('..')) throw bad(`cgroupsPath ${p} is not below the cgroup root`);
  return cgroupAt(path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel), path.posix.basename(rel));
}

/** linux.resources in tbox's form (OCI's own field names: memory.limit/swap, cpu.shares/quota/period/cpus, pids.limit). */
export function resourcesOf(spec: BundleSpec): Resources {
  const r = spec.linux.resources as Record<string, Record<string, unknown> | undefined>;
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    ...(r.memory && num(r.memory.limit) !== undefined ? { memory: { limit: num(r.memory.limit), swap: num(r.memory.swap) } } : {}),
    ...(r.cpu
      ? {
          cpu: {
            shares: num(r.cpu.shares),
            quota: num(r.cpu.quota),
            period: num(r.cpu.period),
            cpus: typeof r.cpu.cpus === 'string' && r.cpu.cpus ? r.cpu.cpus : undefined,
          },
        }
      : {}),
    ...(r.pids && num(r.pids.limit) !== undefined ? { pids: { limit: num(r.pids.limit)! } } : {}),
  };
}
