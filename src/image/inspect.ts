/** `tbox image inspect`: Docker's shape (RepoTags, RepoDigests, Config, Os, Architecture, RootFS). */
import type { ImageRecord } from '../state/images.js';
import { digestsOf } from '../state/images.js';
import { familiarName } from './reference.js';
import { familiarTag } from './store.js';

export function inspectImage(image: ImageRecord) {
  const cfg = image.config;
  return {
    Id: image.id,
    RepoTags: image.tags.map(familiarTag),
    RepoDigests: digestsOf(image.id).map((d) => `${familiarName(d.repository)}@${d.digest}`),
    Parent: '',
    Comment: cfg.history?.at(-1)?.comment ?? '',
    Created: cfg.created ?? image.createdAt,
    Author: cfg.author ?? '',
    Config: {
      Env: cfg.config?.Env ?? null,
      Cmd: cfg.config?.Cmd ?? null,
      Entrypoint: cfg.config?.Entrypoint ?? null,
      WorkingDir: cfg.config?.WorkingDir ?? '',
      User: cfg.config?.User ?? '',
      ExposedPorts: cfg.config?.ExposedPorts ?? null,
      Volumes: cfg.config?.Volumes ?? null,
      Labels: cfg.config?.Labels ?? null,
      StopSignal: cfg.config?.StopSignal ?? '',
    },
    Architecture: cfg.architecture ?? '',
    Os: cfg.os ?? '',
    Size: image.size,
    RootFS: { Type: 'layers', Layers: cfg.rootfs.diff_ids },
  };
}
