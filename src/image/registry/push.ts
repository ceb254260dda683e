/**
 * `tbox push`: an image to a registry, as the distribution spec has it:
 * each blob (gzipped layers, then the config) is checked with HEAD and
 * uploaded with POST + one PUT ?digest= if the registry lacks it; the
 * manifest goes last, under the tag. The same credentials as pull, asking
 * for push.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { createHash, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { downloadsDir, layerDir } from '../../paths.js';
import { NotFoundError } from '../../errors.js';
import { lookupImage } from '../store.js';
import { packLayer } from '../pack-layer.js';
import { familiarName, parseReference } from '../reference.js';
import { RegistryClient, RegistryError, endpointsFor } from './client.js';

interface Blob {
  mediaType: string;
  digest: string;
  size: number;
}

/** Pack and gzip a stored layer: the gzip's digest is the blob's, the tar's the diff_id. */
async function gzippedLayer(diffId: string, dir: string): Promise<Blob & { file: string; diffId: string }> {
  const tarFile = path.join(dir, `${randomUUID()}.tar`);
  const gzFile = `${tarFile}.gz`;
  const packed = await packLayer(layerDir(diffId), tarFile);
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(fs.createReadStream(tarFile), createGzip(), measure, fs.createWriteStream(gzFile));
  fs.rmSync(tarFile);
  return {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: `sha256:${hash.digest('hex')}`,
    size,
    file: gzFile,
    diffId: packed.diffId,
  };
}

async function uploadBlob(client: RegistryClient, digest: string, body: globalThis.Blob): Promise<boolean> {
  const head = await client.request('HEAD', `blobs/${digest}`);
  await head.body.cancel();
  if (head.ok) return false;
  const start = await client.request('POST', 'blobs/uploads/');
  await start.body?.cancel();
  const location = start.headers.get('location');
  if (start.status !== 202 || !location) throw new RegistryError(`${client.repository}: the registry refused an upload (${start.status})`);
  const url = new URL(location, client.base);
  url.searchParams.set('digest', digest);
  const put = await client.request('PUT', url.toString(), { body, headers: { 'Content-Type': 'application/octet-stream' } });
  await put.body?.cancel();
  if (put.status !== 201) throw new RegistryError(`${client.repository}: upload of ${digest.slice(7, 19)} failed (${put.status})`);
  return true;
}

export async function pushImage(reference: string, say: (line: string) => void): Promise<string> {
  const ref = parseReference(reference);
  const image = lookupImage(reference);
  if (!image) throw new NotFoundError(`An image does not exist locally with the tag: ${familiarName(ref.repository)}`);
  const client = new RegistryClient(endpointsFor(ref.domain).at(-1)!, ref.path, 'pull,push');
  say(`The push refers to repository [${ref.domain}/${ref.path}]`);
  fs.mkdirSync(downloadsDir(), { recursive: true });
  const work = fs.mkdtempSync(path.join(downloadsDir(), 'push-'));
  try {
    const layers: Blob[] = [];
    const diffIds: string[] = [];
    for (const diffId of image.config.rootfs.diff_ids) {
      const layer = await gzippedLayer(diffId, work);
      const sent = await uploadBlob(client, layer.digest, await fs.openAsBlob(layer.file));
      say(`${layer.digest.slice(7, 19)}: ${sent ? 'Pushed' : 'Layer already exists'}`);
      layers.push({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size });
      diffIds.push(layer.diffId);
    }
    // a pulled layer packs to a new tar: the pushed config names the diff_ids it really has
    const configText = JSON.stringify({ ...image.config, rootfs: { type: 'layers', diff_ids: diffIds } });
    const configDigest = `sha256:${createHash('sha256').update(configText).digest('hex')}`;
    await uploadBlob(client, configDigest, new globalThis.Blob([configText]));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: Buffer.byteLength(configText) },
      layers,
    });
    const put = await client.request('PUT', `manifests/${ref.tag}`, {
      body: manifest,
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    await put.body?.cancel();
    if (put.status !== 201) throw new RegistryError(`${ref.domain}: the registry refused the manifest (${put.status})`);
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    say(`${ref.tag}: digest: ${digest} size: ${Buffer.byteLength(manifest)}`);
    return digest;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
