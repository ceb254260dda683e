/**
 * `tbox logs`: reads the log the shim writes, one entry per line:
 *   <RFC 3339 time> <stdout|stderr>[+] <text>
 * where '+' marks text that had no newline of its own.
 */
import fs from 'node:fs';
import { findContainer, getContainer } from '../state/containers.js';
import { logPath } from '../paths.js';
import { isRunning, reconcile } from './reconcile.js';

export interface LogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

export function parseEntry(line: string): LogEntry | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  if (a < 0 || b < 0) return undefined;
  const tag = line.slice(a + 1, b);
  const partial = tag.endsWith('+');
  const stream = (partial ? tag.slice(0, -1) : tag) as LogEntry['stream'];
  return { time: line.slice(0, a), stream, text: line.slice(b + 1) + (partial ? '' : '\n') };
}

export interface LogOptions {
  follow: boolean;
  tail?: number;
  timestamps: boolean;
  /** --since and --until, milliseconds since the epoch */
  since?: number;
  until?: number;
  write(entry: LogEntry): void;
}

export async function readLogs(ref: string, opts: LogOptions): Promise<void> {
  reconcile();
  const c = findContainer(ref);
  const file = logPath(c.id);
  const emit = (line: string) => {
    const e = parseEntry(line);
    const at = e && (opts.since !== undefined || opts.until !== undefined) ? Date.parse(e.time) : 0;
    if (opts.since !== undefined && at < opts.since) return;
    if (opts.until !== undefined && at > opts.until) return;
    if (e) opts.write(opts.timestamps ? { ...e, text: `${e.time} ${e.text}` } : e);
  };
  let offset = 0;
  let pending = '';
  const drain = (): string[] => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return [];
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= offset) return [];
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      const lines = (pending + buf.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      return lines;
    } finally {
      fs.closeSync(fd);
    }
  };
  const first = drain();
  const start = opts.tail === undefined ? 0 : Math.max(0, first.length - opts.tail);
  for (let i = start; i < first.length; i++) emit(first[i]!);
  if (!opts.follow) return;
  const running = () => {
    const now = getContainer(c.id);
    return now !== undefined && isRunning(now);
  };
  for (;;) {
    const alive = running();
    for (const line of drain()) emit(line);
    if (!alive) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
