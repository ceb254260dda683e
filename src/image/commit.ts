/**
 * `tbox commit`: a container's upper directory becomes one more layer on
 * its image, and its settings (Cmd, Env, WorkingDir, ...) the new image's
 * config, as Docker commits them. A running container is frozen while its
 * changes are read, unless --pause=false.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { containerDir, downloadsDir } from '../paths.js';
import { NotFoundError } from '../errors.js';
import type { ContainerRecord } from '../state/containers.js';
import type { ImageConfig } from '../state/images.js';
import { addLayer, lookupImage, saveImage, type ContainerConfig } from './store.js';
import { packLayer } from './pack-layer.js';
import { parseReference } from './reference.js';
import { whileFrozen } from '../container/pause.js';

export interface CommitOptions {
  reference?: string;
  message?: string;
  author?: string;
  /** --change, parsed */
  changes: ContainerConfig;
  /** freeze the container while its upper directory is read (docker commit --pause, the default) */
  pause: boolean;
}

/** The container's settings as an image config: its command after the image's entrypoint, its env and workdir. */
function configOf(c: ContainerRecord, base: ContainerConfig): ContainerConfig {
  const entrypoint = base.Entrypoint ?? [];
  const startsWithEntrypoint = entrypoint.every((e, i) => c.spec.args[i] === e);
  return {
    ...base,
    Cmd: startsWithEntrypoint ? c.spec.args.slice(entrypoint.length) : c.spec.args,
    ...(startsWithEntrypoint ? {} : { Entrypoint: [] }),
    Env: c.spec.env,
    WorkingDir: c.spec.cwd === '/' ? '' : c.spec.cwd,
    ...(c.spec.user ? { User: c.spec.user } : {}),
    Labels: c.spec.labels ?? base.Labels,
  };
}

export async function commitContainer(c: ContainerRecord, opts: CommitOptions): Promise<string> {
  const image = lookupImage(c.imageId);
  if (!image) throw new NotFoundError(`image ${c.imageId.slice(7, 19)} of container ${c.name} is gone`);
  const target = opts.reference ? parseReference(opts.reference) : undefined;
  fs.mkdirSync(downloadsDir(), { recursive: true });
  const archive = path.join(downloadsDir(), `commit-${randomUUID()}.tar`);
  try {
    const upper = path.join(containerDir(c.id), 'upper');
    const pack = () => packLayer(upper, archive);
    await (opts.pause ? whileFrozen(c, pack) : pack());
    const layer = await addLayer(archive);
    const created = new Date().toISOString();
    const config: ImageConfig = {
      ...image.config,
      created,
      ...(opts.author ? { author: opts.author } : {}),
      config: { ...configOf(c, image.config.config ?? {}), ...opts.changes },
      rootfs: { type: 'layers', diff_ids: [...image.config.rootfs.diff_ids, layer.diffId] },
      history: [
        ...(image.config.history ?? []),
        { created, created_by: c.spec.args.join(' '), ...(opts.message ? { comment: opts.message } : {}) },
      ],
    };
    return saveImage(JSON.stringify(config), target).id;
  } finally {
    fs.rmSync(archive, { force: true });
  }
}
