import { NotFoundError, InvalidArgumentError } from '../errors.js';
import { lookupImage } from './store.js';
import { parseReference } from './reference.js';
import { buildBuiltin, isBuiltin } from './builtin.js';
import type { ImageRecord } from '../state/images.js';

export type PullPolicy = 'missing' | 'always' | 'never';

export function parsePullPolicy(text: string): PullPolicy {
  if (text === 'missing' || text === 'always' || text === 'never') return text;
  throw new InvalidArgumentError(`invalid --pull "${text}": missing, always or never`);
}

/** The image `tbox run` should use: local, built from a recipe, or pulled, as Docker does on first use. */
export async function resolveImage(ref: string, policy: PullPolicy = 'missing'): Promise<ImageRecord> {
  const found = policy === 'always' ? undefined : lookupImage(ref);
  if (found) return found;
  const parsed = parseReference(ref);
  if (isBuiltin(parsed)) return buildBuiltin(parsed);
  if (policy === 'never') throw new NotFoundError(`No such image: ${ref} (and --pull never)`);
  process.stderr.write(`Unable to find image '${ref}' locally\n`);
  const { pullImage } = await import('./registry/pull.js');
  // Progress goes to stderr: stdout belongs to the container.
  return pullImage(ref, process.stderr);
}
