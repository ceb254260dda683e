/**
 * Digests as the OCI image spec allows them here: sha256 or sha512 in lower
 * hex of the right length, nothing else. A digest from a registry, an
 * archive or an image config becomes a file name (blob downloads, the layer
 * store), so one that fails this check is never used for anything.
 */
import { createHash, type Hash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export const isDigest = (value: unknown): value is string => typeof value === 'string' && DIGEST.test(value);

/** The digest, checked; `what` says where it came from, for the error. */
export function checkDigest(value: unknown, what: string): string {
  if (!isDigest(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new InvalidArgumentError(`${what}: invalid digest ${shown} (expected sha256:<64 hex> or sha512:<128 hex>)`);
  }
  return value;
}

/** A hash of the digest's own algorithm, to verify content against it. */
export const hasherFor = (digest: string): Hash => createHash(digest.slice(0, digest.indexOf(':')));

export const digestOf = (data: Buffer | string, algorithm = 'sha256') => `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;

/** A file name for a checked digest: `sha256-<hex>`. */
export const digestFileName = (digest: string) => checkDigest(digest, 'blob').replace(':', '-');
