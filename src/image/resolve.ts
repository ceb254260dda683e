import { NotFoundError } from '../errors.js';
import { lookupImage } from './store.js';
import { parseReference } from './reference.js';
import { buildBuiltin, isBuiltin } from './builtin.js';
import type { ImageRecord } from '../state/images.js';

/** The image `tbox run` should use, building a built-in one on first use. */
export async function resolveImage(ref: string): Promise<ImageRecord> {
  const found = lookupImage(ref);
  if (found) return found;
  const parsed = parseReference(ref);
  if (isBuiltin(parsed)) return buildBuiltin(parsed);
  throw new NotFoundError(`Unable to find image '${ref}' locally (built-in images: busybox; or use tbox import)`);
}
