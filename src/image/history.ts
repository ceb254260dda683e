/**
 * `tbox history`: the image config's history, newest first; each entry that
 * made a layer is matched to the next layer's size. The text is the image's
 * (hostile input): it is only ever printed.
 */
import { NotFoundError } from '../errors.js';
import { layerSize } from '../state/images.js';
import { lookupImage } from './store.js';

export interface HistoryRow {
  ID: string;
  CreatedAt: string;
  CreatedBy: string;
  Size: number;
  Comment: string;
}

export function imageHistory(ref: string): HistoryRow[] {
  const image = lookupImage(ref);
  if (!image) throw new NotFoundError(`No such image: ${ref}`);
  const diffIds = image.config.rootfs.diff_ids;
  const history =
    Array.isArray(image.config.history) && image.config.history.length > 0
      ? image.config.history
      : diffIds.map(() => ({}) as NonNullable<typeof image.config.history>[number]);
  // Layers older than the history (an image built without one): blank rows for them, oldest first.
  const made = history.filter((h) => h?.empty_layer !== true).length;
  const padded = [...Array.from({ length: Math.max(0, diffIds.length - made) }, () => ({}) as (typeof history)[number]), ...history];
  let layer = 0;
  const rows = padded.map((h) => {
    const empty = h?.empty_layer === true || layer >= diffIds.length;
    const size = empty ? 0 : (layerSize(diffIds[layer++]!) ?? 0);
    return {
      ID: '<missing>',
      CreatedAt: typeof h?.created === 'string' ? h.created : '',
      CreatedBy: typeof h?.created_by === 'string' ? h.created_by : '',
      Size: size,
      Comment: typeof h?.comment === 'string' ? h.comment : '',
    };
  });
  rows.reverse();
  if (rows[0]) rows[0].ID = image.id.slice(7, 19);
  return rows;
}
