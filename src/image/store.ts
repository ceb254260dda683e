/**
 * The image store: content-addressed layers under images/layers/<diff_id>,
 * unpacked once and shared by every image that has them, and image configs
 * (OCI config JSON, id = its sha256) with tags in SQLite.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { downloadsDir, layerDir, layersDir } from '../paths.js';
import { NotFoundError, ConflictError, InvalidArgumentError, TboxError } from '../errors.js';
import * as images from '../state/images.js';
import { containersUsingImage } from '../state/containers.js';
import { extractLayer } from './safe-extract.js';
import { parseImageConfig } from './config.js';
import { familiarName, parseReference, type ImageReference } from './reference.js';
import type { ImageConfig, ImageRecord } from '../state/images.js';

export type ContainerConfig = NonNullable<ImageConfig['config']>;

export const hasLayer = (diffId: string) => images.hasLayer(diffId) && fs.existsSync(layerDir(diffId));

/**
 * Unpack a layer tar (plain or gzip) into the store, once per diff_id. With
 * `expected`, the archive must hash to it (the diff_id in the image config).
 */
export async function addLayer(archive: string, expected?: string): Promise<{ diffId: string; size: number }> {
  fs.mkdirSync(layersDir(), { recursive: true });
  // Unpack beside the final place and rename, so a crash never leaves a
  // half-written layer under a real digest.
  const tmp = path.join(layersDir(), `.tmp-${randomUUID()}`);
  try {
    const { diffId, size } = await extractLayer(archive, tmp);
    if (expected && diffId !== expected) {
      throw new TboxError(`layer content does not match its diff_id: expected ${expected}, got ${diffId}`);
    }
    const final = layerDir(diffId);
    try {
      fs.renameSync(tmp, final);
    } catch (err) {
      // Another tbox unpacked the same layer first: theirs is as good as ours.
      if (!fs.existsSync(final)) throw err;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    images.insertLayer(diffId, size);
    return { diffId, size };
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Leftovers of unpacks that died half-way, and partial downloads kept to be
 * resumed; nothing refers to them. Only ones idle for a while, so an unpack
 * or a download running right now keeps its file.
 */
function removeStaleTemporaries(): void {
  const stale = (dir: string, match: (name: string) => boolean, idleMs: number) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir)) {
      const p = path.join(dir, entry);
      if (match(entry) && fs.lstatSync(p).mtimeMs < Date.now() - idleMs) fs.rmSync(p, { recursive: true, force: true });
    }
  };
  stale(layersDir(), (n) => n.startsWith('.tmp-'), 3600_000);
  // A live download writes (or is aborted) within its 30 s progress window.
  stale(downloadsDir(), (n) => n.endsWith('.partial'), 60_000);
}

export const platformArchitecture = () => (process.arch === 'x64' ? 'amd64' : process.arch);

/** `tbox import`: a root filesystem tar becomes a one-layer image. */
export async function importRootfs(
  archive: string,
  ref: string,
  config: ContainerConfig = {},
  created = new Date().toISOString(),
): Promise<ImageRecord> {
  if (!fs.existsSync(archive)) throw new NotFoundError(`${archive}: no such file`);
  const target = parseReference(ref);
  const layer = await addLayer(archive);
  const imageConfig: ImageConfig = {
    architecture: platformArchitecture(),
    os: 'linux',
    created,
    config,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
  };
  return saveImage(JSON.stringify(imageConfig), target);
}

/**
 * Record an image whose layers are all in the store. The id is the sha256 of
 * the config as given, so a pulled image keeps its registry id.
 */
export function saveImage(rawConfig: string, ref: ImageReference | undefined, manifestDigest?: string): ImageRecord {
  const config = parseImageConfig(rawConfig);
  const id = `sha256:${createHash('sha256').update(rawConfig).digest('hex')}`;
  const missing = config.rootfs.diff_ids.find((d) => !hasLayer(d));
  if (missing) throw new TboxError(`image ${id.slice(7, 19)} needs layer ${missing}, which is not in the store`);
  const size = config.rootfs.diff_ids.reduce((sum, d) => sum + (images.layerSize(d) ?? 0), 0);
  images.saveImage(id, config, size, ref?.repository ?? '', ref && !ref.digest ? ref.tag : undefined);
  if (ref && manifestDigest) images.saveDigest(ref.repository, manifestDigest, id);
  return images.imageById(id)!;
}

import { lookupImage } from './lookup.js';

export { lookupImage, lowerDirs } from './lookup.js';

export function tagImage(source: string, target: string): void {
  const image = lookupImage(source);
  if (!image) throw new NotFoundError(`No such image: ${source}`);
  const t = parseReference(target);
  if (t.digest) throw new InvalidArgumentError(`cannot tag with a digest: ${target}`);
  images.tagImage(image.id, t.repository, t.tag);
}

/** Delete an image row and the layers nobody else uses. */
function deleteImageAndLayers(id: string): void {
  for (const diffId of images.deleteImage(id)) fs.rmSync(layerDir(diffId), { recursive: true, force: true });
}

/** `tbox rmi`: untag, and delete the image once no tag is left. Lines to print. */
export function removeImage(ref: string, force: boolean): string[] {
  const image = lookupImage(ref);
  if (!image) throw new NotFoundError(`No such image: ${ref}`);
  const byId = /^(sha256:)?[0-9a-f]{6,64}$/.test(ref) && !image.tags.some((t) => t.startsWith(ref));
  if (!byId && image.tags.length > 1) {
    const r = parseReference(ref);
    images.deleteTag(r.repository, r.tag);
    return [`Untagged: ${familiarName(r.repository)}:${r.tag}`];
  }
  const users = containersUsingImage(image.id);
  if (users.length > 0 && !force) {
    throw new ConflictError(
      `unable to remove image ${ref}: in use by container ${users[0]!.id.slice(0, 12)} (use -f, or remove the container)`,
    );
  }
  const untagged = image.tags.map((t) => `Untagged: ${familiarTag(t)}`);
  for (const t of image.tags) {
    const colon = t.lastIndexOf(':');
    images.deleteTag(t.slice(0, colon), t.slice(colon + 1));
  }
  // Docker keeps a forced image's data while containers still need it.
  if (users.length > 0) return untagged;
  deleteImageAndLayers(image.id);
  return [...untagged, `Deleted: ${image.id}`];
}

/** `tbox image prune`: untagged images (-a: every image) no container uses. */
export function pruneImages(all: boolean): string[] {
  removeStaleTemporaries();
  const removed: string[] = [];
  for (const image of images.listImages()) {
    if ((image.tags.length > 0 && !all) || containersUsingImage(image.id).length > 0) continue;
    for (const t of image.tags) removed.push(`untagged: ${familiarTag(t)}`);
    deleteImageAndLayers(image.id);
    removed.push(`deleted: ${image.id}`);
  }
  return removed;
}

export function familiarTag(repositoryColonTag: string): string {
  const colon = repositoryColonTag.lastIndexOf(':');
  return `${familiarName(repositoryColonTag.slice(0, colon))}:${repositoryColonTag.slice(colon + 1)}`;
}
