/**
 * `tbox save`: images as one tar that both kinds of reader load, as Docker
 * 25+ writes it: an OCI image layout (oci-layout, index.json, blobs/) and
 * the docker-archive manifest.json pointing at the same blobs.
 *
 * The store keeps layers unpacked, so each is packed again; a pulled
 * layer's new tar need not hash to its old diff_id, so the saved config
 * lists the new ones (and the loaded image gets a new id).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { dataRoot, layerDir } from '../paths.js';
import { NotFoundError } from '../errors.js';
import type { ImageRecord } from '../state/images.js';
import { familiarTag, lookupImage } from './store.js';
import { packLayer } from './pack-layer.js';
import { formatReference, parseReference } from './reference.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Blob {
  digest: string;
  size: number;
}

class Layout {
  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  }

  blobPath = (digest: string) => path.join(this.dir, 'blobs', 'sha256', digest.slice(7));

  writeJson(value: unknown): Blob {
    const text = JSON.stringify(value);
    const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
    fs.writeFileSync(this.blobPath(digest), text);
    return { digest, size: Buffer.byteLength(text) };
  }

  async addLayer(diffId: string): Promise<Blob> {
    const tmp = path.join(this.dir, `layer-${randomUUID()}.tar`);
    const { diffId: digest, size } = await packLayer(layerDir(diffId), tmp);
    fs.renameSync(tmp, this.blobPath(digest));
    return { digest, size };
  }
}

/** The repository:tag names an image is saved under: the one asked for, or all of its tags when asked by id. */
function repoTags(ref: string, image: ImageRecord): string[] {
  if (image.id.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, ''))) return image.tags.map(familiarTag);
  return [formatReference(parseReference(ref))];
}

export async function saveImages(refs: string[], out: NodeJS.WritableStream | string): Promise<void> {
  const staging = path.join(dataRoot(), 'tmp', `save-${randomUUID()}`);
  const layout = new Layout(staging);
  try {
    const manifests: unknown[] = [];
    const dockerManifest: unknown[] = [];
    for (const ref of refs) {
      const image = lookupImage(ref);
      if (!image) throw new NotFoundError(`No such image: ${ref}`);
      const layers: Blob[] = [];
      for (const diffId of image.config.rootfs.diff_ids) layers.push(await layout.addLayer(diffId));
      const config = layout.writeJson({ ...image.config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } });
      const manifest = layout.writeJson({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
      });
      const tags = repoTags(ref, image);
      for (const tag of tags.length ? tags : [undefined]) {
        const named = tag && parseReference(tag);
        manifests.push({
          mediaType: OCI_MANIFEST,
          ...manifest,
          ...(named
            ? {
                annotations: {
                  'io.containerd.image.name': `${named.repository}:${named.tag}`,
                  'org.opencontainers.image.ref.name': named.tag,
                },
              }
            : {}),
        });
      }
      dockerManifest.push({
        Config: `blobs/sha256/${config.digest.slice(7)}`,
        RepoTags: tags,
        Layers: layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      });
    }
    fs.writeFileSync(path.join(staging, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    fs.writeFileSync(
      path.join(staging, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
    );
    fs.writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(dockerManifest));
    const tar = await import('tar');
    const entries = ['blobs', 'index.json', 'manifest.json', 'oci-layout'];
    if (typeof out === 'string') await tar.c({ cwd: staging, file: out, portable: true }, entries);
    else await pipeline(tar.c({ cwd: staging, portable: true }, entries), out);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
