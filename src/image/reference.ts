/**
 * Image references as Docker reads them: `alpine` is
 * docker.io/library/alpine:latest, `localhost:5000/x` and `host:port/ns/x`
 * name other registries, and `name@sha256:...` pins a digest.
 */
import { InvalidArgumentError } from '../errors.js';
import { isDigest } from './digest.js';

export const DOCKER_HUB = 'docker.io';

export interface ImageReference {
  /** Registry host[:port], e.g. docker.io or localhost:5000 */
  domain: string;
  /** Path in that registry, e.g. library/alpine */
  path: string;
  tag: string;
  digest?: string;
  /** domain/path: what the store keys tags by */
  repository: string;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
/** The distribution spec's domain: dot-separated labels (or [IPv6]) and an optional port. */
const LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[a-fA-F0-9:]+\\])(?::([0-9]{1,5}))?$`);
/** Docker's cap on a repository name (domain/path). */
const MAX_NAME_LENGTH = 255;

function validDomain(domain: string): boolean {
  const m = DOMAIN.exec(domain);
  return m !== null && (m[1] === undefined || Number(m[1]) <= 65535);
}

function invalid(ref: string): never {
  throw new InvalidArgumentError(
    `invalid reference format: "${ref.slice(0, 300)}" (expected [REGISTRY/]NAME[:TAG|@sha256:DIGEST], lowercase)`,
  );
}

/** Parse and normalise NAME[:TAG|@DIGEST] (tag defaults to latest). */
export function parseReference(ref: string): ImageReference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) invalid(ref);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  let tag = 'latest';
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) invalid(ref);
  }
  const first = rest.split('/')[0]!;
  const hasDomain = rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  let domain = hasDomain ? first : DOCKER_HUB;
  let path = hasDomain ? rest.slice(first.length + 1) : rest;
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (!PATH.test(path) || (hasDomain && !validDomain(domain))) invalid(ref);
  if (`${domain}/${path}`.length > MAX_NAME_LENGTH) {
    throw new InvalidArgumentError(`invalid reference format: repository name must not be more than ${MAX_NAME_LENGTH} characters`);
  }
  return { domain, path, tag, digest, repository: `${domain}/${path}` };
}

/** The short name Docker shows: alpine, not docker.io/library/alpine. */
export function familiarName(repository: string): string {
  return repository.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

export const formatReference = (r: ImageReference) => `${familiarName(r.repository)}:${r.tag}`;
