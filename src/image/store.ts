/**
 * The image store: content-addressed layers under images/layers/<diff_id>,
 * shared by every image that has them, and image configs in SQLite.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { v4 as uuidv4 } from 'uuid';
import { layerDir, layersDir } from '../paths.js';
import { NotFoundError, ConflictError, InvalidArgumentError } from '../errors.js';
import * as images from '../state/images.js';
import { containersUsingImage } from '../state/containers.js';
import { extractLayer } from './safe-extract.js';
import { parseReference, formatReference, type ImageReference } from './reference.js';
import type { ImageConfig, ImageRecord } from '../state/images.js';

/** Unpack a layer tar into the store, once per diff_id. */
export async function addLayer(archive: string): Promise<{ diffId: string; size: number }> {
  fs.mkdirSync(layersDir(), { recursive: true });
  // Unpack beside the final place and rename, so a crash never leaves a
  // half-written layer under a real digest.
  const tmp = path.join(layersDir(), `.tmp-${uuidv4()}`);
  try {
    const { diffId, size } = await extractLayer(archive, tmp);
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

export type ContainerConfig = NonNullable<ImageConfig['config']>;

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
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    created,
    config,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
  };
  return saveImage(imageConfig, layer.size, target);
}

function saveImage(config: ImageConfig, size: number, ref: ImageReference): ImageRecord {
  const id = `sha256:${createHash('sha256').update(JSON.stringify(config)).digest('hex')}`;
  images.saveImage(id, config, size, ref.repository, ref.tag);
  return images.imageById(id)!;
}

/** Find an image by name[:tag], full id, or id prefix; undefined if absent. */
export function lookupImage(ref: string): ImageRecord | undefined {
  const hex = ref.replace(/^sha256:/, '');
  if (/^[0-9a-f]{6,64}$/.test(hex)) {
    const ids = images.imageIdsByPrefix(`sha256:${hex}`);
    if (ids.length > 1) throw new InvalidArgumentError(`multiple images match id prefix "${ref}"`);
    if (ids.length === 1) return images.imageById(ids[0]!);
  }
  const { repository, tag } = parseReference(ref);
  const id = images.imageIdByTag(repository, tag);
  return id ? images.imageById(id) : undefined;
}

/** Overlay lowerdirs for an image, top layer first as overlayfs wants them. */
export function lowerDirs(image: ImageRecord): string[] {
  return image.config.rootfs.diff_ids.map(layerDir).reverse();
}

/** `tbox rmi`: untag, and delete the image once no tag is left. */
export function removeImage(ref: string, force: boolean): string[] {
  const image = lookupImage(ref);
  if (!image) throw new NotFoundError(`No such image: ${ref}`);
  const users = containersUsingImage(image.id);
  const byName = !ref.replace(/^sha256:/, '').match(/^[0-9a-f]{6,64}$/) || image.tags.length === 0;
  const untagged: string[] = [];
  if (byName && image.tags.length > 1) {
    const r = parseReference(ref);
    images.deleteTag(r.repository, r.tag);
    return [`Untagged: ${formatReference(r)}`];
  }
  if (users.length > 0 && !force) {
    throw new ConflictError(
      `unable to remove image ${ref}: in use by container ${users[0]!.id.slice(0, 12)} (use -f, or remove the container)`,
    );
  }
  for (const t of image.tags) untagged.push(`Untagged: ${t}`);
  if (users.length > 0) {
    // Docker keeps a forced image's data while containers still need it.
    for (const t of image.tags) {
      const r = parseReference(t);
      images.deleteTag(r.repository, r.tag);
    }
    return untagged;
  }
  for (const diffId of images.deleteImage(image.id)) fs.rmSync(layerDir(diffId), { recursive: true, force: true });
  return [...untagged, `Deleted: ${image.id}`];
}
