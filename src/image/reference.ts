import { InvalidArgumentError } from '../errors.js';

export interface ImageReference {
  repository: string;
  tag: string;
}

// Docker's grammar, simplified: lowercase path components, optional
// registry host[:port] in front, tag of word characters.
const REPOSITORY = /^(?:[a-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** Parse NAME[:TAG] (tag defaults to latest). */
export function parseReference(ref: string): ImageReference {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const hasTag = colon > slash;
  const repository = hasTag ? ref.slice(0, colon) : ref;
  const tag = hasTag ? ref.slice(colon + 1) : 'latest';
  if (!REPOSITORY.test(repository) || !TAG.test(tag)) {
    throw new InvalidArgumentError(`invalid reference format: "${ref}" (expected NAME[:TAG], lowercase)`);
  }
  return { repository, tag };
}

export const formatReference = (r: ImageReference) => `${r.repository}:${r.tag}`;
