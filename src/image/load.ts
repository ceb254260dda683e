/**
 * `tbox load -i FILE`: a `docker save` archive (manifest.json) or an OCI image
 * layout (index.json + blobs/), as a directory or a tar. Paths inside may be
 * relative symlinks (newer docker save links blobs); every file read is
 * resolved and must stay inside the archive, and every blob is checked
 * against its digest.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, NotFoundError, TboxError, UnsafeArchiveError } from '../errors.js';
import { extractLayer } from './safe-extract.js';
import { MAX_CONFIG_BYTES, parseImageConfig } from './config.js';
import { checkDigest, hasherFor } from './digest.js';
import { addLayer, hasLayer, platformArchitecture, saveImage } from './store.js';
import { formatReference, parseReference } from './reference.js';

interface Descriptor {
  mediaType?: string;
  digest: string;
  platform?: { os?: string; architecture?: string };
  annotations?: Record<string, string>;
}

/** A path inside the archive, following symlinks but never out of it. */
function inside(root: string, rel: string): string {
  // Resolve the longest existing prefix, so a link to a missing place outside
  // is caught as outside, not reported as missing.
  let existing = path.resolve(root, rel);
  const rest: string[] = [];
  while (!fs.existsSync(existing) && existing !== path.dirname(existing)) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  const real = path.join(fs.realpathSync(existing), ...rest);
  const realRoot = fs.realpathSync(root);
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
    throw new UnsafeArchiveError(`refusing archive: ${rel} points outside it`);
  }
  if (rest.length > 0) throw new NotFoundError(`archive is missing ${rel}`);
  return real;
}

/** Hash a file in chunks: a layer blob may be far larger than memory should hold. */
function fileDigestMatches(file: string, digest: string): boolean {
  const hash = hasherFor(digest);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return `${digest.slice(0, digest.indexOf(':'))}:${hash.digest('hex')}` === digest;
}

function blobPath(root: string, digest: unknown): string {
  const checked = checkDigest(digest, 'archive descriptor');
  const [alg, hex] = checked.split(':') as [string, string];
  const file = inside(root, path.join('blobs', alg, hex));
  if (!fileDigestMatches(file, checked)) throw new TboxError(`digest mismatch for blob ${checked} in the archive: refusing it`);
  return file;
}

/** A JSON document of the archive's, at most 4 MiB (as containerd caps manifests), with one line if it is not JSON. */
function readJson<T>(file: string): T {
  if (fs.statSync(file).size > MAX_CONFIG_BYTES)
    throw new UnsafeArchiveError(`refusing archive: ${path.basename(file)} is larger than ${MAX_CONFIG_BYTES} bytes`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    throw new InvalidArgumentError(`archive's ${path.basename(file)} is not valid JSON`);
  }
}

const readConfig = (file: string) => {
  if (fs.statSync(file).size > MAX_CONFIG_BYTES)
    throw new UnsafeArchiveError(`refusing archive: image config is larger than ${MAX_CONFIG_BYTES} bytes`);
  return fs.readFileSync(file, 'utf8');
};

async function importImage(rawConfig: string, layerFiles: string[], names: string[]): Promise<string[]> {
  const diffIds = parseImageConfig(rawConfig).rootfs.diff_ids;
  if (diffIds.length !== layerFiles.length) throw new TboxError('image config and manifest disagree on the number of layers');
  for (let i = 0; i < layerFiles.length; i++) {
    if (!hasLayer(diffIds[i]!)) await addLayer(layerFiles[i]!, diffIds[i]);
  }
  if (names.length === 0) return [`Loaded image ID: ${saveImage(rawConfig, undefined).id}`];
  return names.map((n) => {
    const ref = parseReference(n);
    saveImage(rawConfig, ref);
    return `Loaded image: ${formatReference(ref)}`;
  });
}

async function loadDockerSave(root: string): Promise<string[]> {
  const entries = readJson<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(inside(root, 'manifest.json'));
  const out: string[] = [];
  for (const e of entries) {
    if (typeof e.Config !== 'string' || !Array.isArray(e.Layers))
      throw new InvalidArgumentError('archive manifest.json has an entry without Config or Layers');
    const rawConfig = readConfig(inside(root, e.Config));
    out.push(
      ...(await importImage(
        rawConfig,
        e.Layers.map((l) => inside(root, l)),
        e.RepoTags ?? [],
      )),
    );
  }
  return out;
}

function resolveManifest(root: string, d: Descriptor): Descriptor {
  if (!/index|manifest\.list/.test(d.mediaType ?? '')) return d;
  const index = readJson<{ manifests: Descriptor[] }>(blobPath(root, d.digest));
  if (!Array.isArray(index.manifests)) throw new InvalidArgumentError(`archive index ${d.digest} has no manifests list`);
  const arch = platformArchitecture();
  const chosen = index.manifests.find((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === arch));
  if (!chosen) throw new TboxError(`no linux/${arch} image in the archive's index`);
  return resolveManifest(root, chosen);
}

/** The name an OCI layout gives an image: a full reference, or just a tag (then none). */
function layoutName(d: Descriptor): string[] {
  const full = d.annotations?.['io.containerd.image.name'];
  if (full) return [full];
  const name = d.annotations?.['org.opencontainers.image.ref.name'];
  return name && /[/:]/.test(name) ? [name] : [];
}

async function loadOciLayout(root: string): Promise<string[]> {
  const index = readJson<{ manifests: Descriptor[] }>(inside(root, 'index.json'));
  if (!Array.isArray(index.manifests)) throw new InvalidArgumentError("archive's index.json has no manifests list");
  const out: string[] = [];
  for (const top of index.manifests) {
    const d = resolveManifest(root, top);
    const manifest = readJson<{ config: Descriptor; layers: Descriptor[] }>(blobPath(root, d.digest));
    if (!manifest.config || !Array.isArray(manifest.layers))
      throw new InvalidArgumentError(`archive manifest ${d.digest} has no config or layers`);
    const rawConfig = readConfig(blobPath(root, manifest.config.digest));
    const layers = manifest.layers.map((l) => {
      if (/zstd/.test(l.mediaType ?? '')) throw new TboxError('zstd-compressed layers are not supported yet');
      return blobPath(root, l.digest);
    });
    out.push(...(await importImage(rawConfig, layers, layoutName(top))));
  }
  return out;
}

export async function loadImages(input: string): Promise<string[]> {
  if (!fs.existsSync(input)) throw new NotFoundError(`${input}: no such file or directory`);
  let root = input;
  let tmp: string | undefined;
  if (!fs.statSync(input).isDirectory()) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-load-'));
    await extractLayer(input, tmp);
    root = tmp;
  }
  try {
    // docker save writes manifest.json (and, since Docker 25, an OCI layout too).
    if (fs.existsSync(path.join(root, 'manifest.json'))) return await loadDockerSave(root);
    if (fs.existsSync(path.join(root, 'index.json'))) return await loadOciLayout(root);
    throw new InvalidArgumentError(`${input} is neither a docker save archive nor an OCI image layout`);
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
