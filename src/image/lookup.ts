/**
 * Finding a stored image and its layer directories: apart from store.ts, so
 * the commands that only read images (exec, ps) load no unpacking code.
 */
import * as images from '../state/images.js';
import { InvalidArgumentError } from '../errors.js';
import { layerDir } from '../paths.js';
import { parseReference } from './reference.js';
import type { ImageRecord } from '../state/images.js';

/** Find an image by name[:tag], name@digest, full id, or id prefix; undefined if absent. */
export function lookupImage(ref: string): ImageRecord | undefined {
  const hex = ref.replace(/^sha256:/, '');
  if (/^[0-9a-f]{6,64}$/.test(hex)) {
    const ids = images.imageIdsByPrefix(`sha256:${hex}`);
    if (ids.length > 1) throw new InvalidArgumentError(`multiple images match id prefix "${ref}"`);
    if (ids.length === 1) return images.imageById(ids[0]!);
  }
  const parsed = parseReference(ref);
  const id = parsed.digest ? images.imageIdByDigest(parsed.repository, parsed.digest) : images.imageIdByTag(parsed.repository, parsed.tag);
  return id ? images.imageById(id) : undefined;
}

/** Overlay lowerdirs for an image, top layer first as overlayfs wants them. */
export function lowerDirs(image: ImageRecord): string[] {
  return image.config.rootfs.diff_ids.map(layerDir).reverse();
}

/** `tbox tag SOURCE TARGET` */
