/**
 * The user's mounts as Docker takes them: -v/--volume, --mount, --tmpfs,
 * --volumes-from and the image's VOLUMEs, resolved at create time into one
 * list. Named volumes are made on first use, anonymous ones get a fresh
 * name. Where they land is decided later, inside the container's root (the
 * shim resolves every target there: src/shim/inroot.c).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { findContainer, type ContainerMount } from '../state/containers.js';
import { checkVolumeName, createVolume } from '../volume/volumes.js';

export interface MountFlags {
  volume?: string[];
  mount?: string[];
  tmpfs?: string[];
  volumesFrom?: string[];
}

/** A container path: absolute, cleaned, not the root itself. */
function containerPath(text: string, flag: string): string {
  if (!text.startsWith('/')) throw new InvalidArgumentError(`invalid ${flag} "${text}": the container path must be absolute`);
  const clean = path.posix.normalize(text).replace(/(.)\/+$/, '$1');
  if (clean === '/') throw new InvalidArgumentError(`invalid ${flag} "${text}": the destination can't be '/'`);
  return clean;
}

/** -v options: ro/rw, nocopy; z, Z and propagation words are accepted and have no effect here. */
function volumeOptions(text: string, spec: string): { readonly: boolean; nocopy: boolean } {
  const words = text ? text.split(',') : [];
  for (const w of words) {
    if (!['ro', 'rw', 'z', 'Z', 'nocopy', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(w)) {
      throw new InvalidArgumentError(`invalid -v "${spec}": unknown option ${w}`);
    }
  }
  return { readonly: words.includes('ro'), nocopy: words.includes('nocopy') };
}

type Pending = ContainerMount & { nocopy?: boolean };

/** -v NAME:/path[:opts], -v /host:/path[:opts], -v /path (an anonymous volume). */
function parseVolumeFlag(spec: string): Pending {
  const parts = spec.split(':');
  if (parts.length === 1) return { type: 'volume', source: '', target: containerPath(parts[0]!, '-v'), readonly: false, anonymous: true };
  if (parts.length > 3) throw new InvalidArgumentError(`invalid -v "${spec}": expected SOURCE:TARGET[:OPTIONS]`);
  const [source, target, opts = ''] = parts as [string, string, string?];
  const { readonly, nocopy } = volumeOptions(opts, spec);
  if (source.startsWith('/')) {
    // Docker makes a missing host directory for -v (but not for --mount).
    fs.mkdirSync(source, { recursive: true });
    return { type: 'bind', source: path.resolve(source), target: containerPath(target, '-v'), readonly };
  }
  return { type: 'volume', source: checkVolumeName(source), target: containerPath(target, '-v'), readonly, nocopy };
}

/** --mount type=bind|volume|tmpfs,source=,target=,readonly,volume-nocopy,tmpfs-size=,tmpfs-mode= */
function parseMountFlag(spec: string): Pending {
  const fields = new Map<string, string>();
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    fields.set(key, eq < 0 ? 'true' : field.slice(eq + 1));
  }
  const known = ['type', 'source', 'src', 'target', 'destination', 'dst', 'readonly', 'ro', 'volume-nocopy', 'tmpfs-size', 'tmpfs-mode'];
  for (const key of fields.keys())
    if (!known.includes(key)) throw new InvalidArgumentError(`invalid --mount "${spec}": unknown field ${key}`);
  const type = fields.get('type') ?? 'volume';
  const source = fields.get('source') ?? fields.get('src') ?? '';
  const targetText = fields.get('target') ?? fields.get('destination') ?? fields.get('dst');
  if (!targetText) throw new InvalidArgumentError(`invalid --mount "${spec}": target is required`);
  const target = containerPath(targetText, '--mount');
  const flag = fields.get('readonly') ?? fields.get('ro') ?? 'false';
  if (!['true', 'false', '1', '0'].includes(flag)) throw new InvalidArgumentError(`invalid --mount "${spec}": readonly=${flag}`);
  const readonly = flag === 'true' || flag === '1';
  if (type === 'bind') {
    if (!source.startsWith('/')) throw new InvalidArgumentError(`invalid --mount "${spec}": a bind source must be an absolute host path`);
    if (!fs.existsSync(source)) throw new InvalidArgumentError(`invalid --mount "${spec}": bind source path does not exist: ${source}`);
    return { type, source: path.resolve(source), target, readonly };
  }
  if (type === 'volume') {
    if (!source) return { type, source: '', target, readonly, anonymous: true, nocopy: fields.has('volume-nocopy') };
    return { type, source: checkVolumeName(source), target, readonly, nocopy: fields.has('volume-nocopy') };
  }
  if (type === 'tmpfs') {
    const size = fields.get('tmpfs-size');
    const mode = fields.get('tmpfs-mode');
    return {
      type,
      source: '',
      target,
      readonly,
      options: tmpfsOptions([size && `size=${size}`, mode && `mode=${mode}`].filter(Boolean).join(','), spec),
    };
  }
  throw new InvalidArgumentError(`invalid --mount "${spec}": type ${type} (bind, volume or tmpfs)`);
}

/** tmpfs options the kernel takes: the words the shim knows, size=, mode=, uid=, gid=, nr_inodes=. */
function tmpfsOptions(text: string, spec: string): string {
  for (const w of text ? text.split(',') : []) {
    if (!/^(ro|rw|exec|noexec|suid|nosuid|dev|nodev|(size|nr_inodes)=\d+[kmgKMG%]?|mode=[0-7]{3,4}|(uid|gid)=\d+)$/.test(w)) {
      throw new InvalidArgumentError(`invalid --tmpfs "${spec}": option ${w}`);
    }
  }
  return text;
}

function parseTmpfsFlag(spec: string): Pending {
  const colon = spec.indexOf(':');
  const target = containerPath(colon < 0 ? spec : spec.slice(0, colon), '--tmpfs');
  const options = tmpfsOptions(colon < 0 ? '' : spec.slice(colon + 1), spec);
  return { type: 'tmpfs', source: '', target, readonly: false, options };
}

/** --volumes-from CTR[:ro|rw]: that container's volumes and binds, at the same paths. */
function mountsFrom(spec: string): Pending[] {
  const [ref, mode, extra] = spec.split(':');
  if (!ref || extra !== undefined || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new InvalidArgumentError(`invalid --volumes-from "${spec}": expected CONTAINER[:ro|rw]`);
  }
  return (findContainer(ref).spec.mounts ?? [])
    .filter((m) => m.type !== 'tmpfs')
    .map((m) => ({ ...m, readonly: mode === undefined ? m.readonly : mode === 'ro', anonymous: false, nocopy: true }));
}

/**
 * Every mount of a new container, parents before children (Docker sorts
 * them by path depth), each target once. Volumes are made here; the image's
 * VOLUMEs not covered by the user's mounts become anonymous volumes.
 */
export function resolveMounts(flags: MountFlags, imageVolumes: string[]): ContainerMount[] {
  const pending: Pending[] = [
    ...(flags.volumesFrom ?? []).flatMap(mountsFrom),
    ...(flags.volume ?? []).map(parseVolumeFlag),
    ...(flags.mount ?? []).map(parseMountFlag),
    ...(flags.tmpfs ?? []).map(parseTmpfsFlag),
  ];
  const seen = new Set<string>();
  for (const m of pending) {
    if (seen.has(m.target)) throw new InvalidArgumentError(`Duplicate mount point: ${m.target}`);
    seen.add(m.target);
  }
  for (const target of imageVolumes) {
    const clean = path.posix.normalize(target);
    if (!seen.has(clean) && clean.startsWith('/') && clean !== '/') {
      pending.push({ type: 'volume', source: '', target: clean, readonly: false, anonymous: true });
      seen.add(clean);
    }
  }
  const depth = (p: string) => p.split('/').length;
  return pending
    .sort((a, b) => depth(a.target) - depth(b.target))
    .map(({ nocopy, ...m }) => {
      if (m.type !== 'volume') return m;
      const v = createVolume(m.anonymous ? undefined : m.source);
      return { ...m, source: v.name, ...(nocopy ? { nocopy: true } : {}) };
    });
}
