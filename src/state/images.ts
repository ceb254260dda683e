import { database, write } from './db.js';

/** The OCI image config, the parts tbox reads. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  author?: string;
  config?: {
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[];
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object>;
    /** VOLUME paths: each becomes an anonymous volume */
    Volumes?: Record<string, object>;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
  /** what made each layer (docker history); hostile input, shown as text only */
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
  rootfs: { type: 'layers'; diff_ids: string[] };
}

export interface ImageRecord {
  id: string;
  config: ImageConfig;
  size: number;
  createdAt: string;
  tags: string[];
}

interface ImageRow {
  id: string;
  config: string;
  size: number;
  created_at: string;
  tags: string | null;
}

const SELECT_IMAGES = `
  SELECT i.*, group_concat(t.repository || ':' || t.tag, ' ') AS tags
  FROM images i LEFT JOIN tags t ON t.image_id = i.id`;

function fromRow(r: ImageRow): ImageRecord {
  return {
    id: r.id,
    config: JSON.parse(r.config) as ImageConfig,
    size: r.size,
    createdAt: r.created_at,
    tags: r.tags ? r.tags.split(' ').sort() : [],
  };
}

export function listImages(): ImageRecord[] {
  return (database().prepare(`${SELECT_IMAGES} GROUP BY i.id ORDER BY i.created_at DESC`).all() as ImageRow[]).map(fromRow);
}

export function imageById(id: string): ImageRecord | undefined {
  const row = database().prepare(`${SELECT_IMAGES} WHERE i.id = ? GROUP BY i.id`).get(id) as ImageRow | undefined;
  return row && fromRow(row);
}

export function imageIdsByPrefix(prefix: string): string[] {
  return (database().prepare("SELECT id FROM images WHERE id LIKE ? || '%' LIMIT 2").all(prefix) as { id: string }[]).map((r) => r.id);
}

export function imageIdByTag(repository: string, tag: string): string | undefined {
  const row = database().prepare('SELECT image_id FROM tags WHERE repository = ? AND tag = ?').get(repository, tag) as
    { image_id: string } | undefined;
  return row?.image_id;
}

export function hasLayer(diffId: string): boolean {
  return database().prepare('SELECT 1 FROM layers WHERE diff_id = ?').get(diffId) !== undefined;
}

export function layerSize(diffId: string): number | undefined {
  return database().prepare('SELECT size FROM layers WHERE diff_id = ?').pluck().get(diffId) as number | undefined;
}

export function insertLayer(diffId: string, size: number): void {
  write((db) => db.prepare('INSERT OR IGNORE INTO layers (diff_id, size) VALUES (?, ?)').run(diffId, size));
}

/** Add the image (if new) and point repository:tag at it, in one transaction. */
export function saveImage(id: string, config: ImageConfig, size: number, repository: string, tag: string | undefined): void {
  write((db) => {
    db.prepare('INSERT OR IGNORE INTO images (id, config, size, created_at) VALUES (?, ?, ?, ?)').run(
      id,
      JSON.stringify(config),
      size,
      config.created ?? new Date().toISOString(),
    );
    if (tag !== undefined) db.prepare('INSERT OR REPLACE INTO tags (repository, tag, image_id) VALUES (?, ?, ?)').run(repository, tag, id);
  });
}

export function imageIdByDigest(repository: string, digest: string): string | undefined {
  return database().prepare('SELECT image_id FROM digests WHERE repository = ? AND digest = ?').pluck().get(repository, digest) as
    string | undefined;
}

/** The repository@digest names an image was pulled (or pushed) by. */
export function digestsOf(imageId: string): { repository: string; digest: string }[] {
  return database().prepare('SELECT repository, digest FROM digests WHERE image_id = ? ORDER BY repository').all(imageId) as {
    repository: string;
    digest: string;
  }[];
}

export function saveDigest(repository: string, digest: string, imageId: string): void {
  write((db) =>
    db.prepare('INSERT OR REPLACE INTO digests (repository, digest, image_id) VALUES (?, ?, ?)').run(repository, digest, imageId),
  );
}

export function tagImage(imageId: string, repository: string, tag: string): void {
  write((db) => db.prepare('INSERT OR REPLACE INTO tags (repository, tag, image_id) VALUES (?, ?, ?)').run(repository, tag, imageId));
}

export function deleteTag(repository: string, tag: string): void {
  write((db) => db.prepare('DELETE FROM tags WHERE repository = ? AND tag = ?').run(repository, tag));
}

/** Delete the image row and return the layers no other image uses any more. */
export function deleteImage(id: string): string[] {
  return write((db) => {
    const img = db.prepare('SELECT config FROM images WHERE id = ?').get(id) as { config: string } | undefined;
    if (!img) return [];
    db.prepare('DELETE FROM tags WHERE image_id = ?').run(id);
    db.prepare('DELETE FROM digests WHERE image_id = ?').run(id);
    db.prepare('DELETE FROM images WHERE id = ?').run(id);
    const layers = (JSON.parse(img.config) as ImageConfig).rootfs.diff_ids;
    const stillUsed = new Set<string>();
    for (const row of db.prepare('SELECT config FROM images').all() as { config: string }[]) {
      for (const d of (JSON.parse(row.config) as ImageConfig).rootfs.diff_ids) stillUsed.add(d);
    }
    const orphaned = layers.filter((d) => !stillUsed.has(d));
    for (const d of orphaned) db.prepare('DELETE FROM layers WHERE diff_id = ?').run(d);
    return orphaned;
  });
}
