/**
 * GNU sparse files in layer tars, expanded instead of dropped.
 *
 * node-tar ignores old-GNU 'S' entries and unpacks a PAX 1.0 sparse entry as
 * a file named GNUSparseFile.NNN/NAME holding the sparse map and the data.
 * This stream sits between the hash (which must see the archive as it is)
 * and node-tar, and rewrites each sparse entry as an empty regular file of
 * its real name. The stored chunks go to a side file; applySparse() then
 * gives each file its real size with ftruncate (holes stay holes, as Go's
 * tar reader leaves them: a 1 TB sparse lastlog costs no disk) and writes
 * the chunks at their offsets.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { UnsafeArchiveError } from '../errors.js';

const BLOCK = 512;
/** A PAX header larger than this is not one tbox will buffer. */
const MAX_PAX_BYTES = 1024 * 1024;

interface Chunk {
  offset: number;
  length: number;
  /** where the chunk's bytes are in the side file */
  at: number;
}

export interface SparseFile {
  path: string;
  realSize: number;
  chunks: Chunk[];
  /** seconds: set again once the data is in, as node-tar set it on the empty file */
  mtime: number;
}

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** A tar numeric field: octal text, or base-256 when the high bit is set. */
function numeric(buf: Buffer, off: number, len: number): number {
  if (buf[off]! & 0x80) {
    let n = 0;
    for (let i = off + 1; i < off + len; i++) n = n * 256 + buf[i]!;
    return n;
  }
  const text = buf
    .subarray(off, off + len)
    .toString('latin1')
    .replace(/\0.*$/s, '')
    .trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function setChecksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
}

/** The header as a regular file of size 0 (the data comes later, from applySparse). */
function emptyFileHeader(h: Buffer): Buffer {
  const out = Buffer.from(h);
  out[156] = 0x30; // '0'
  out.write('00000000000\0', 124, 12, 'latin1');
  // Old GNU headers keep the sparse map at 386..495; it means nothing for a regular file.
  if (out.subarray(257, 265).toString('latin1') === 'ustar  \0') out.fill(0, 386, 495);
  setChecksum(out);
  return out;
}

function parsePax(data: Buffer): [string, string][] {
  const records: [string, string][] = [];
  let i = 0;
  while (i < data.length && data[i] !== 0) {
    const space = data.indexOf(0x20, i);
    const len = Number(data.subarray(i, space).toString('latin1'));
    if (space < 0 || !Number.isSafeInteger(len) || len <= 0 || i + len > data.length)
      throw new UnsafeArchiveError('refusing archive: malformed PAX header');
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    records.push([record.slice(0, eq), record.slice(eq + 1)]);
    i += len;
  }
  return records;
}

function encodePax(header: Buffer, records: [string, string][]): Buffer {
  const body = Buffer.concat(
    records.map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = Buffer.byteLength(rest) + 1;
      while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
      return Buffer.from(`${len}${rest}`, 'utf8');
    }),
  );
  const h = Buffer.from(header);
  h.write(body.length.toString(8).padStart(11, '0') + '\0', 124, 12, 'latin1');
  setChecksum(h);
  return Buffer.concat([h, body, Buffer.alloc(padded(body.length) - body.length)]);
}

type State =
  | { kind: 'header' }
  | { kind: 'pass'; left: number; longName?: Buffer[] }
  | { kind: 'pax'; header: Buffer; size: number }
  | { kind: 'gnuExtension'; file: SparseFile; map: { offset: number; length: number }[]; stored: number }
  | { kind: 'map'; file: SparseFile; stored: number; text?: string }
  | { kind: 'chunks'; file: SparseFile; map: { offset: number; length: number }[]; index: number; left: number; pad: number };

export class SparseExpander extends Transform {
  readonly files: SparseFile[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private state: State = { kind: 'header' };
  /** A PAX 1.0 sparse record set waits for the header it describes. */
  private pending: { name: string; realSize: number; mtime?: number } | undefined;
  /** A GNU long name ('L') for the next header. */
  private longName: string | undefined;
  private sideAt = 0;
  private readonly side: number;

  constructor(sideFile: string) {
    super();
    this.side = fs.openSync(sideFile, 'w+');
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    try {
      while (this.step());
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    fs.closeSync(this.side);
    if (this.buf.length) this.push(this.buf);
    done();
  }

  /** Consume what the state needs from buf; false when more input is needed. */
  private step(): boolean {
    const s = this.state;
    if (s.kind === 'pass') {
      if (this.buf.length === 0) return false;
      const n = Math.min(s.left, this.buf.length);
      this.push(this.buf.subarray(0, n));
      s.longName?.push(Buffer.from(this.buf.subarray(0, n)));
      this.buf = this.buf.subarray(n);
      s.left -= n;
      if (s.left > 0) return true;
      if (s.longName) this.longName = Buffer.concat(s.longName).toString('utf8').replace(/\0.*$/s, '');
      this.state = { kind: 'header' };
      return true;
    }
    if (s.kind === 'chunks') return this.copyChunks(s);
    const need = s.kind === 'pax' ? padded(s.size) : s.kind === 'map' ? BLOCK : BLOCK;
    if (this.buf.length < need) return false;
    const block = this.buf.subarray(0, need);
    this.buf = this.buf.subarray(need);
    if (s.kind === 'header') this.header(block);
    else if (s.kind === 'pax') this.pax(s.header, block.subarray(0, s.size));
    else if (s.kind === 'gnuExtension') this.gnuExtension(s, block);
    else this.sparseMap(s, block);
    return true;
  }

  private header(h: Buffer): void {
    const type = String.fromCharCode(h[156]!);
    const size = numeric(h, 124, 12);
    if (h.every((b) => b === 0)) {
      this.push(h);
      return;
    }
    if (type === 'x') {
      if (size > MAX_PAX_BYTES) throw new UnsafeArchiveError(`refusing archive: a PAX header of ${size} bytes`);
      this.state = { kind: 'pax', header: Buffer.from(h), size };
      return;
    }
    const longName = this.longName;
    this.longName = undefined;
    if (type === 'S') {
      const name = longName ?? h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
      const file: SparseFile = { path: name, realSize: numeric(h, 483, 12), chunks: [], mtime: numeric(h, 136, 12) };
      const map = this.mapEntries(h, 386, 4);
      this.push(emptyFileHeader(h));
      this.files.push(file);
      this.state = h[482] ? { kind: 'gnuExtension', file, map, stored: size } : this.chunkState(file, map, size);
      return;
    }
    if (this.pending && (type === '0' || type === '\0')) {
      const file: SparseFile = {
        path: this.pending.name,
        realSize: this.pending.realSize,
        chunks: [],
        mtime: this.pending.mtime ?? numeric(h, 136, 12),
      };
      this.pending = undefined;
      this.push(emptyFileHeader(h));
      this.files.push(file);
      this.state = { kind: 'map', file, stored: size };
      return;
    }
    this.push(h);
    // node-tar reads no data for a directory, whatever its size field says.
    const data = type === '5' ? 0 : padded(size);
    if (type === 'L' && size > MAX_PAX_BYTES) throw new UnsafeArchiveError(`refusing archive: a long name of ${size} bytes`);
    if (data > 0) this.state = { kind: 'pass', left: data, ...(type === 'L' ? { longName: [] } : {}) };
  }

  private pax(header: Buffer, data: Buffer): void {
    const records = parsePax(data);
    const get = (k: string) => records.find(([key]) => key === k)?.[1];
    if (get('GNU.sparse.major') === undefined && get('GNU.sparse.size') === undefined) {
      this.push(encodePax(header, records));
      this.state = { kind: 'header' };
      return;
    }
    if (get('GNU.sparse.major') !== '1' || get('GNU.sparse.minor') !== '0') {
      throw new UnsafeArchiveError('refusing archive: GNU sparse format 0.x is not supported (only 1.0 and old GNU)');
    }
    const name = get('GNU.sparse.name');
    const realSize = Number(get('GNU.sparse.realsize'));
    if (!name || !Number.isSafeInteger(realSize) || realSize < 0)
      throw new UnsafeArchiveError('refusing archive: a sparse entry without name or size');
    const mtime = Number(get('mtime'));
    this.pending = { name, realSize, ...(Number.isFinite(mtime) ? { mtime } : {}) };
    // The real name goes in as the PAX path; the sparse keys go.
    this.push(
      encodePax(header, [...records.filter(([k]) => !k.startsWith('GNU.sparse.') && k !== 'path' && k !== 'size'), ['path', name]]),
    );
    this.state = { kind: 'header' };
  }

  private mapEntries(block: Buffer, at: number, count: number): { offset: number; length: number }[] {
    const out: { offset: number; length: number }[] = [];
    for (let i = 0; i < count; i++) {
      const o = at + i * 24;
      if (block[o] === 0) break;
      out.push({ offset: numeric(block, o, 12), length: numeric(block, o + 12, 12) });
    }
    return out;
  }

  private gnuExtension(s: Extract<State, { kind: 'gnuExtension' }>, block: Buffer): void {
    s.map.push(...this.mapEntries(block, 0, 21));
    this.state = block[504] ? s : this.chunkState(s.file, s.map, s.stored);
  }

  /** PAX 1.0: the map is decimal text at the start of the data (count, then offset and size pairs), padded to a block. */
  private sparseMap(s: Extract<State, { kind: 'map' }>, block: Buffer): void {
    s.text = (s.text ?? '') + block.toString('latin1');
    const count = Number(s.text.slice(0, s.text.indexOf('\n')));
    if (s.text.indexOf('\n') < 0 || !Number.isSafeInteger(count) || count < 0 || count > 1_000_000) {
      throw new UnsafeArchiveError('refusing archive: bad sparse map');
    }
    const lines = s.text.split('\n');
    if (lines.length < 2 + 2 * count) {
      if (s.text.length > 64 * 1024 * 1024) throw new UnsafeArchiveError('refusing archive: sparse map too large');
      return;
    }
    const map = Array.from({ length: count }, (_, i) => ({ offset: Number(lines[1 + 2 * i]), length: Number(lines[2 + 2 * i]) }));
    // Whole blocks were read, and the map is padded to a block: what was read is all map.
    this.state = this.chunkState(s.file, map, s.stored - s.text.length);
  }

  private chunkState(file: SparseFile, map: { offset: number; length: number }[], stored: number): State {
    const total = map.reduce((n, m) => n + m.length, 0);
    const bad = map.some(
      (m, i) =>
        !Number.isSafeInteger(m.offset) ||
        !Number.isSafeInteger(m.length) ||
        m.offset < 0 ||
        m.length < 0 ||
        m.offset + m.length > file.realSize ||
        (i > 0 && m.offset < map[i - 1]!.offset + map[i - 1]!.length),
    );
    if (bad || total !== stored || !Number.isSafeInteger(file.realSize))
      throw new UnsafeArchiveError('refusing archive: a sparse map that does not fit its file');
    return { kind: 'chunks', file, map, index: 0, left: map[0]?.length ?? 0, pad: padded(stored) - stored };
  }

  private copyChunks(s: Extract<State, { kind: 'chunks' }>): boolean {
    while (s.index < s.map.length && s.left === 0) {
      s.index++;
      s.left = s.map[s.index]?.length ?? 0;
    }
    if (s.index >= s.map.length) {
      if (this.buf.length < s.pad) return false;
      this.buf = this.buf.subarray(s.pad);
      this.state = { kind: 'header' };
      return true;
    }
    if (this.buf.length === 0) return false;
    const m = s.map[s.index]!;
    const n = Math.min(s.left, this.buf.length);
    fs.writeSync(this.side, this.buf, 0, n, this.sideAt);
    s.file.chunks.push({ offset: m.offset + (m.length - s.left), length: n, at: this.sideAt });
    this.sideAt += n;
    s.left -= n;
    this.buf = this.buf.subarray(n);
    return true;
  }
}

/**
 * Give each sparse file extracted under `dest` its real size and data. The
 * path was checked by the entry guard when node-tar unpacked the empty file;
 * it is opened without following a symlink at the leaf.
 */
export function applySparse(dest: string, sideFile: string, files: SparseFile[], accepted: Set<string>): void {
  if (files.length === 0) return;
  const side = fs.openSync(sideFile, 'r');
  try {
    for (const f of files) {
      const rel = f.path.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
      if (!accepted.has(rel)) continue; // a whiteout or an entry the guard refused
      const fd = fs.openSync(path.join(dest, rel), fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
      try {
        fs.ftruncateSync(fd, f.realSize);
        const buf = Buffer.alloc(1 << 16);
        for (const c of f.chunks) {
          for (let done = 0; done < c.length;) {
            const n = fs.readSync(side, buf, 0, Math.min(buf.length, c.length - done), c.at + done);
            fs.writeSync(fd, buf, 0, n, c.offset + done);
            done += n;
          }
        }
        fs.futimesSync(fd, f.mtime, f.mtime);
      } finally {
        fs.closeSync(fd);
      }
    }
  } finally {
    fs.closeSync(side);
  }
}
