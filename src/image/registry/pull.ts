/**
 * `tbox pull`: manifest (list) -> config -> layers, each blob checked against
 * its sha256 before use. Layers the store has are skipped; a blob download is
 * written to a .partial file and resumed with a Range request next time, so
 * an interrupted pull leaves nothing a later run would take for a layer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { imagesDir } from '../../paths.js';
import { TboxError } from '../../errors.js';
import { parseReference, formatReference, familiarName, type ImageReference } from '../reference.js';
import { addLayer, hasLayer, lookupImage, platformArchitecture, saveImage } from '../store.js';
import type { ImageRecord } from '../../state/images.js';
import { MANIFEST_TYPES, RegistryClient, RegistryError, endpointsFor } from './client.js';
import { PullProgress } from './progress.js';

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface Manifest {
  mediaType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const downloadsDir = () => path.join(imagesDir(), 'downloads');
const isIndex = (m: Manifest, type: string) => Boolean(m.manifests) || /index|manifest\.list/.test(type);

class DigestMismatchError extends TboxError {}

async function fetchManifest(client: RegistryClient, reference: string): Promise<{ manifest: Manifest; digest: string; type: string }> {
  const res = await client.get(`manifests/${reference}`, { Accept: MANIFEST_TYPES.join(', ') });
  if (res.status === 404) {
    await res.body?.cancel();
    throw new RegistryError(`manifest for ${client.repository}:${reference} not found`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new RegistryError(`manifest ${client.repository}:${reference}: registry answered ${res.status}`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  const digest = sha256(body);
  const claimed = res.headers.get('docker-content-digest');
  if ((reference.startsWith('sha256:') && reference !== digest) || (claimed && claimed !== digest)) {
    throw new DigestMismatchError(`manifest digest mismatch for ${client.repository}:${reference}: got ${digest}`);
  }
  const type = res.headers.get('content-type') ?? '';
  return { manifest: JSON.parse(body.toString('utf8')) as Manifest, digest, type };
}

function choosePlatform(index: Manifest, ref: string): Descriptor {
  const arch = platformArchitecture();
  const found = (index.manifests ?? []).find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch);
  if (!found) {
    const have = (index.manifests ?? []).map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(', ');
    throw new TboxError(`no linux/${arch} image in the manifest list of ${ref} (it has: ${have || 'nothing'})`);
  }
  return found;
}

async function fetchBlob(client: RegistryClient, d: Descriptor): Promise<Buffer> {
  const res = await client.get(`blobs/${d.digest}`);
  if (!res.ok) {
    await res.body?.cancel();
    throw new RegistryError(`blob ${d.digest}: registry answered ${res.status}`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  if (sha256(body) !== d.digest) throw new DigestMismatchError(`digest mismatch for blob ${d.digest}: refusing it`);
  return body;
}

/** Download a layer blob to a file, resuming a .partial left by an earlier try; verified. */
async function downloadBlob(client: RegistryClient, d: Descriptor, onBytes: (done: number) => void): Promise<string> {
  fs.mkdirSync(downloadsDir(), { recursive: true });
  const hex = d.digest.replace(/^sha256:/, '');
  const partial = path.join(downloadsDir(), `${hex}.partial`);
  const have = fs.existsSync(partial) ? fs.statSync(partial).size : 0;
  const res = await client.get(`blobs/${d.digest}`, have > 0 ? { Range: `bytes=${have}-` } : {});
  if (!res.ok) {
    await res.body?.cancel();
    throw new RegistryError(`blob ${d.digest}: registry answered ${res.status}`);
  }
  // 206: the registry continues where the last try stopped; 200: from the start.
  const resumed = res.status === 206 && have > 0;
  const digest = createHash('sha256');
  if (resumed) digest.update(fs.readFileSync(partial));
  let done = resumed ? have : 0;
  const fd = fs.openSync(partial, resumed ? 'a' : 'w');
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      fs.writeSync(fd, chunk);
      digest.update(chunk);
      done += chunk.length;
      onBytes(done);
    }
  } catch (err) {
    throw new RegistryError(`download of ${d.digest.slice(7, 19)} was interrupted after ${done} bytes (${(err as Error).message}): run the pull again to resume`);
  } finally {
    fs.closeSync(fd);
  }
  if (`sha256:${digest.digest('hex')}` !== d.digest) {
    fs.rmSync(partial, { force: true });
    throw new DigestMismatchError(`digest mismatch for blob ${d.digest}: refusing it`);
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
  if (isIndex(manifest, type)) {
    const chosen = choosePlatform(manifest, formatReference(ref));
    ({ manifest, digest, type } = await fetchManifest(client, chosen.digest));
  }
  if (!manifest.config || !manifest.layers) throw new RegistryError(`unsupported manifest type ${type || manifest.mediaType}`);
  const rawConfig = (await fetchBlob(client, manifest.config)).toString('utf8');
  const diffIds = (JSON.parse(rawConfig) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) throw new RegistryError('image config and manifest disagree on the number of layers');

  await inPool(manifest.layers, 3, async (layer, i) => {
    const id = layer.digest.slice(7, 19);
    if (/zstd/.test(layer.mediaType ?? '')) throw new TboxError(`layer ${id} is zstd-compressed, which tbox cannot unpack yet`);
    if (hasLayer(diffIds[i]!)) {
      progress.status(id, 'Already exists');
      return;
    }
    progress.status(id, 'Pulling fs layer');
    const file = await downloadBlob(client, layer, (done) => progress.bytes(id, done, layer.size ?? 0));
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
