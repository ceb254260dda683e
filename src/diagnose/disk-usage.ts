/**
 * `tbox system df`: what images, containers and volumes take on disk, and
 * how much of it nothing uses (Docker's RECLAIMABLE). Layers shared by images
 * are counted once.
 */
import { listContainers } from '../state/containers.js';
import { listImages, layerSize } from '../state/images.js';
import { listVolumes } from '../state/volumes.js';
import { volumeDataDir } from '../paths.js';
import { treeSize, upperSize } from '../container/changes.js';
import { volumeUsers } from '../volume/volumes.js';

export interface UsageRow {
  Type: string;
  TotalCount: number;
  Active: number;
  Size: number;
  Reclaimable: number;
}

function layersSize(diffIds: Iterable<string>): number {
  let total = 0;
  for (const d of new Set(diffIds)) total += layerSize(d) ?? 0;
  return total;
}

export function diskUsage(): UsageRow[] {
  const containers = listContainers();
  const images = listImages();
  const usedImages = new Set(containers.map((c) => c.imageId));
  const allLayers = images.flatMap((i) => i.config.rootfs.diff_ids);
  const usedLayers = images.filter((i) => usedImages.has(i.id)).flatMap((i) => i.config.rootfs.diff_ids);
  const imageSize = layersSize(allLayers);
  const containerSizes = containers.map((c) => ({ running: c.state === 'running', size: upperSize(c.id) }));
  const volumes = listVolumes().map((v) => ({ used: volumeUsers(v.name).length > 0, size: treeSize(volumeDataDir(v.name)) }));
  const sum = (xs: { size: number }[]) => xs.reduce((n, x) => n + x.size, 0);
  return [
    {
      Type: 'Images',
      TotalCount: images.length,
      Active: images.filter((i) => usedImages.has(i.id)).length,
      Size: imageSize,
      Reclaimable: imageSize - layersSize(usedLayers),
    },
    {
      Type: 'Containers',
      TotalCount: containers.length,
      Active: containerSizes.filter((c) => c.running).length,
      Size: sum(containerSizes),
      Reclaimable: sum(containerSizes.filter((c) => !c.running)),
    },
    {
      Type: 'Local Volumes',
      TotalCount: volumes.length,
      Active: volumes.filter((v) => v.used).length,
      Size: sum(volumes),
      Reclaimable: sum(volumes.filter((v) => !v.used)),
    },
    { Type: 'Build Cache', TotalCount: 0, Active: 0, Size: 0, Reclaimable: 0 },
  ];
}
