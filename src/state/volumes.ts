import { database, write, type Database } from './db.js';

export interface VolumeRecord {
  name: string;
  /** made for -v /path or an image's VOLUME: removed by rm -v, --rm and volume prune */
  anonymous: boolean;
  createdAt: string;
}

interface Row {
  name: string;
  anonymous: number;
  created_at: string;
}

const fromRow = (r: Row): VolumeRecord => ({ name: r.name, anonymous: r.anonymous === 1, createdAt: r.created_at });

export function getVolume(name: string, db: Database = database()): VolumeRecord | undefined {
  const row = db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as Row | undefined;
  return row && fromRow(row);
}

export function listVolumes(db: Database = database()): VolumeRecord[] {
  return (db.prepare('SELECT * FROM volumes ORDER BY name').all() as Row[]).map(fromRow);
}

/** The volume's row, made if it is new (a second create of a name is no error, as in Docker). */
export function insertVolume(v: VolumeRecord): VolumeRecord {
  return write((db) => {
    db.prepare('INSERT OR IGNORE INTO volumes (name, anonymous, created_at) VALUES (?, ?, ?)').run(
      v.name,
      v.anonymous ? 1 : 0,
      v.createdAt,
    );
    return getVolume(v.name, db)!;
  });
}

export function deleteVolume(name: string, db: Database = database()): void {
  db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
}
