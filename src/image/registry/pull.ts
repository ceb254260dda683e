/**
 * `tbox pull`: manifest (list) -> config -> layers, each blob checked against
 * its sha256 before use. Layers the store has are skipped; a blob download is
 * written to a .partial file and resumed with a Range request next time, so
 * an interrupted pull leaves nothing a later run would take for a layer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { downloadsDir, imagesDir } from '../../paths.js';
import { DiskFullError, TboxError } from '../../errors.js';
import { parseReference, formatReference, familiarName, type ImageReference } from '../reference.js';
import { addLayer, hasLayer, lookupImage, platformArchitecture, saveImage } from '../store.js';
import * as images from '../../state/images.js';
import type { ImageRecord } from '../../state/images.js';
import { MANIFEST_TYPES, MAX_MANIFEST_BYTES, RegistryClient, RegistryError, endpointsFor } from './client.js';
import { checkDigest, digestFileName, digestOf, hasherFor, isDigest } from '../digest.js';
import { MAX_CONFIG_BYTES, parseImageConfig } from '../config.js';
import { PullProgress } from './progress.js';

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface Manifest {
  schemaVersion?: number;
  mediaType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

const CONFIG_TYPES = ['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json'];
const LAYER_TYPE =
  /^application\/vnd\.(oci\.image\.layer(\.nondistributable)?\.v1\.tar(\+gzip|\+zstd)?|docker\.image\.rootfs\.(foreign\.)?diff\.tar\.gzip)$/;

const isIndex = (m: Manifest, type: string) => Boolean(m.manifests) || /index|manifest\.list/.test(type);

export class DigestMismatchError extends RegistryError {}

/** A descriptor from a registry: its digest, size and media type checked before anything uses them. */
function checkDescriptor(d: unknown, what: string, types?: (t: string) => boolean): Descriptor {
  if (typeof d !== 'object' || d === null) throw new RegistryError(`${what}: not a descriptor`);
  const desc = d as Partial<Descriptor>;
  checkDigest(desc.digest, what);
  if (typeof desc.size !== 'number' || !Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw new RegistryError(`${what}: invalid size ${JSON.stringify(desc.size)}`);
  }
  if (types && (typeof desc.mediaType !== 'string' || !types(desc.mediaType))) {
    throw new RegistryError(`${what}: unsupported media type ${JSON.stringify(desc.mediaType)}`);
  }
  return desc as Descriptor;
}

/** A whole small body (manifest, config), at most `max` bytes. */
async function readBody(client: RegistryClient, pathname: string, max: number, what: string, headers: Record<string, string> = {}) {
  const res = await client.getBounded(pathname, max, what, headers);
  if (res.status === 404) {
    await res.cancel();
    throw new RegistryError(`${what} not found`);
  }
  if (res.status < 200 || res.status > 299) {
    await res.cancel();
    throw new RegistryError(`${what}: registry answered ${res.status}`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) chunks.push(Buffer.from(chunk));
  return { body: Buffer.concat(chunks), headers: res.headers };
}

async function fetchManifest(client: RegistryClient, reference: string): Promise<{ manifest: Manifest; digest: string; type: string }> {
  const what = `manifest for ${client.repository}:${reference}`;
  const { body, headers } = await readBody(client, `manifests/${reference}`, MAX_MANIFEST_BYTES, what, {
    Accept: MANIFEST_TYPES.join(', '),
  });
  const algorithm = isDigest(reference) ? reference.slice(0, reference.indexOf(':')) : 'sha256';
  const digest = digestOf(body, algorithm);
  const claimed = headers.get('docker-content-digest');
  if ((isDigest(reference) && reference !== digest) || (claimed && claimed.startsWith(`${algorithm}:`) && claimed !== digest)) {
    throw new DigestMismatchError(`manifest digest mismatch for ${client.repository}:${reference}: got ${digest}`);
  }
  const type = (headers.get('content-type') ?? '').split(';')[0]!.trim();
  let manifest: Manifest;
  try {
    manifest = JSON.parse(body.toString('utf8')) as Manifest;
  } catch {
    throw new RegistryError(`${what} is not valid JSON`);
  }
  if (typeof manifest !== 'object' || manifest === null || manifest.schemaVersion !== 2)
    throw new RegistryError(`${what}: not an image manifest (schemaVersion 2)`);
  const declared = manifest.mediaType ?? type;
  if (declared && !MANIFEST_TYPES.includes(declared))
    throw new RegistryError(`${what}: unsupported media type ${JSON.stringify(declared.slice(0, 100))}`);
  if (isIndex(manifest, declared)) {
    if (!Array.isArray(manifest.manifests)) throw new RegistryError(`${what}: index without a manifests list`);
    manifest.manifests = manifest.manifests.map((m, i) => checkDescriptor(m, `${what}: manifests[${i}]`));
  } else {
    manifest.config = checkDescriptor(manifest.config, `${what}: config`, (t) => CONFIG_TYPES.includes(t));
    if (!Array.isArray(manifest.layers)) throw new RegistryError(`${what}: no layers list`);
    manifest.layers = manifest.layers.map((l, i) => checkDescriptor(l, `${what}: layers[${i}]`, (t) => LAYER_TYPE.test(t)));
  }
  return { manifest, digest, type: declared };
}

function choosePlatform(index: Manifest, ref: string): Descriptor {
  const arch = platformArchitecture();
  const found = (index.manifests ?? []).find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch);
  if (!found) {
    const have = (index.manifests ?? []).map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(', ');
    throw new TboxError(`no linux/${arch} image in the manifest list of ${ref} (it has: ${have.slice(0, 200) || 'nothing'})`);
  }
  return found;
}

async function fetchConfig(client: RegistryClient, d: Descriptor): Promise<string> {
  if (d.size > MAX_CONFIG_BYTES)
    throw new RegistryError(`image config ${d.digest} is ${d.size} bytes, more than ${MAX_CONFIG_BYTES}: refusing it`);
  const { body } = await readBody(client, `blobs/${d.digest}`, d.size, `image config ${d.digest.slice(7, 19)}`);
  if (digestOf(body, d.digest.slice(0, d.digest.indexOf(':'))) !== d.digest)
    throw new DigestMismatchError(`digest mismatch for blob ${d.digest}: refusing it`);
  return body.toString('utf8');
}

const isDiskFull = (err: unknown) => ['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * Download a layer blob to a file, resuming a .partial left by an earlier
 * try. The file never grows past the descriptor's size, so what is kept is
 * always a prefix of what was asked; a full disk or a bad digest removes it.
 */
async function downloadBlob(client: RegistryClient, d: Descriptor, onBytes: (done: number) => void): Promise<string> {
  fs.mkdirSync(downloadsDir(), { recursive: true });
  const partial = path.join(downloadsDir(), `${digestFileName(d.digest)}.partial`);
  let have = fs.existsSync(partial) ? fs.statSync(partial).size : 0;
  if (have > d.size) {
    fs.rmSync(partial, { force: true });
    have = 0;
  }
  const short = d.digest.slice(7, 19);
  const res = await client.getBounded(`blobs/${d.digest}`, d.size, `layer ${short}`, have > 0 ? { Range: `bytes=${have}-` } : {});
  if (res.status < 200 || res.status > 299) {
    await res.cancel();
    throw new RegistryError(`blob ${d.digest}: registry answered ${res.status}`);
  }
  // 206: the registry continues where the last try stopped; 200: from the start.
  const resumed = res.status === 206 && have > 0;
  const digest = hasherFor(d.digest);
  let done = resumed ? have : 0;
  const fd = fs.openSync(partial, resumed ? 'r+' : 'w');
  try {
    if (resumed) {
      const buf = Buffer.alloc(1 << 20);
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) digest.update(buf.subarray(0, n));
    }
    for await (const chunk of res.body) {
      if (done + chunk.length > d.size)
        throw new RegistryError(`layer ${short}: the registry sent more than its ${d.size} bytes: refusing it`);
      fs.writeSync(fd, chunk);
      digest.update(chunk);
      done += chunk.length;
      onBytes(done);
    }
  } catch (err) {
    fs.closeSync(fd);
    if (isDiskFull(err)) {
      fs.rmSync(partial, { force: true });
      throw new DiskFullError(
        `no space left on the device of ${imagesDir()} while pulling layer ${short}: free some space (tbox image prune, tbox rm) and pull again`,
      );
    }
    if (err instanceof RegistryError && /refusing/.test(err.message)) fs.rmSync(partial, { force: true });
    if (err instanceof RegistryError && !/refusing/.test(err.message)) {
      throw new RegistryError(
        `download of layer ${short} was interrupted after ${done} of ${d.size} bytes (${err.message}): run the pull again to resume`,
      );
    }
    throw err;
  }
  fs.closeSync(fd);
  const got = `${d.digest.slice(0, d.digest.indexOf(':'))}:${digest.digest('hex')}`;
  if (done !== d.size || got !== d.digest) {
    fs.rmSync(partial, { force: true });
    throw new DigestMismatchError(
      `digest mismatch for blob ${d.digest}: refusing it${done === d.size ? '' : ` (${done} of ${d.size} bytes)`}`,
    );
  }
  return partial;
}

/** Run fn over items, at most `limit` at a time (Docker downloads three layers at once). */
async function inPool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function pullFrom(base: string, ref: ImageReference, progress: PullProgress): Promise<ImageRecord> {
  const client = new RegistryClient(base, ref.path);
  let { manifest, digest, type } = await fetchManifest(client, ref.digest ?? ref.tag);
  const topDigest = digest;
  // Pulled by this digest before, all layers still here: nothing to fetch but the tag.
  const known = images.imageIdByDigest(ref.repository, topDigest);
  const have = known ? images.imageById(known) : undefined;
  if (have && have.config.rootfs.diff_ids.every(hasLayer)) {
    if (!ref.digest) images.tagImage(have.id, ref.repository, ref.tag);
    progress.message(`Digest: ${topDigest}`);
    return have;
  }
  if (isIndex(manifest, type)) {
    const chosen = choosePlatform(manifest, formatReference(ref));
    ({ manifest, digest, type } = await fetchManifest(client, chosen.digest));
  }
  if (!manifest.config || !manifest.layers) throw new RegistryError(`unsupported manifest type ${type || manifest.mediaType}`);
  const rawConfig = await fetchConfig(client, manifest.config);
  const diffIds = parseImageConfig(rawConfig).rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) throw new RegistryError('image config and manifest disagree on the number of layers');

  await inPool(manifest.layers, 3, async (layer, i) => {
    const id = layer.digest.slice(7, 19);
    if (/zstd/.test(layer.mediaType ?? '')) throw new TboxError(`layer ${id} is zstd-compressed, which tbox cannot unpack yet`);
    if (hasLayer(diffIds[i]!)) {
      progress.status(id, 'Already exists');
      return;
    }
    progress.status(id, 'Pulling fs layer');
    const file = await downloadBlob(client, layer, (done) => progress.bytes(id, done, layer.size));
    progress.status(id, 'Download complete');
    try {
      await addLayer(file, diffIds[i]);
    } finally {
      fs.rmSync(file, { force: true });
    }
    progress.status(id, 'Pull complete');
  });
  const image = saveImage(rawConfig, ref, topDigest);
  progress.message(`Digest: ${topDigest}`);
  return image;
}

/** `tbox pull NAME[:TAG|@sha256:...]`, also what `tbox run` does for a missing image. */
export async function pullImage(reference: string, out: NodeJS.WriteStream = process.stdout): Promise<ImageRecord> {
  const ref = parseReference(reference);
  const progress = new PullProgress(out);
  const before = lookupImage(reference)?.id;
  if (!reference.includes(':') && !ref.digest) progress.message('Using default tag: latest');
  progress.message(`${ref.digest ?? ref.tag}: Pulling from ${familiarName(ref.repository)}`);
  let lastError: Error | undefined;
  for (const base of endpointsFor(ref.domain)) {
    try {
      const image = await pullFrom(base, ref, progress);
      const name = ref.digest ? `${familiarName(ref.repository)}@${ref.digest}` : formatReference(ref);
      progress.message(before === image.id ? `Status: Image is up to date for ${name}` : `Status: Downloaded newer image for ${name}`);
      return image;
    } catch (err) {
      // A mirror that fails is skipped, as Docker's registry-mirrors are;
      // a bad digest is never retried elsewhere.
      if (!(err instanceof RegistryError) || err instanceof DigestMismatchError) throw err;
      lastError = err;
    }
  }
  throw lastError ?? new TboxError(`cannot pull ${reference}`);
}
