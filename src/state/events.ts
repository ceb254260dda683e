/**
 * The event log `tbox events` reads: each change to a container is recorded
 * in the same write transaction as the change, so no event is lost or made up.
 */
import type { Database } from 'better-sqlite3';
import { database } from './db.js';

export interface TboxEvent {
  /** nanoseconds since the epoch, as Docker's timeNano */
  timeNano: number;
  type: 'container' | 'network' | 'image' | 'volume';
  action: string;
  actorId: string;
  attributes: Record<string, string>;
}

/** Keep the log bounded: the newest events are the ones anyone asks for. */
const KEEP = 10_000;

export function recordEvent(db: Database, e: Omit<TboxEvent, 'timeNano'>): void {
  const timeNano = Date.now() * 1_000_000;
  const { lastInsertRowid } = db
    .prepare('INSERT INTO events (time_nano, type, action, actor_id, attributes) VALUES (?, ?, ?, ?, ?)')
    .run(timeNano, e.type, e.action, e.actorId, JSON.stringify(e.attributes));
  if (Number(lastInsertRowid) % 1000 === 0) db.prepare('DELETE FROM events WHERE seq <= ?').run(Number(lastInsertRowid) - KEEP);
}

/** A container's event: its name and image are attributes, as in Docker. */
export function recordContainerEvent(db: Database, id: string, action: string, extra: Record<string, string> = {}): void {
  const row = db.prepare('SELECT name, image_ref FROM containers WHERE id = ?').get(id) as { name: string; image_ref: string } | undefined;
  if (!row) return;
  recordEvent(db, { type: 'container', action, actorId: id, attributes: { image: row.image_ref, name: row.name, ...extra } });
}

/** Events after `afterSeq` and within [since, until] (nanoseconds). */
export function readEvents(afterSeq: number, sinceNano: number, untilNano: number): (TboxEvent & { seq: number })[] {
  const rows = database()
    .prepare('SELECT * FROM events WHERE seq > ? AND time_nano >= ? AND time_nano <= ? ORDER BY seq')
    .all(afterSeq, sinceNano, untilNano) as {
    seq: number;
    time_nano: number;
    type: TboxEvent['type'];
    action: string;
    actor_id: string;
    attributes: string;
  }[];
  return rows.map((r) => ({
    seq: r.seq,
    timeNano: r.time_nano,
    type: r.type,
    action: r.action,
    actorId: r.actor_id,
    attributes: JSON.parse(r.attributes) as Record<string, string>,
  }));
}
