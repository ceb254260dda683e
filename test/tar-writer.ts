/**
 * A minimal ustar writer, so tests can craft archives that well-behaved tar
 * tools refuse to make: `..` paths, absolute paths, links that escape, devices.
 */
import zlib from 'node:zlib';

export interface TarEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev';
  body?: string | Buffer;
  linkpath?: string;
  mode?: number;
}

const TYPE_FLAG = { file: '0', hardlink: '1', symlink: '2', chardev: '3', dir: '5' } as const;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const type = e.type ?? 'file';
  h.write(e.path, 0, 100);
  h.write(octal(e.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write(TYPE_FLAG[type], 156);
  if (e.linkpath) h.write(e.linkpath, 157, 100);
  h.write('ustar\0', 257);
  h.write('00', 263);
  if (type === 'chardev') {
    h.write(octal(1, 8), 329);
    h.write(octal(3, 8), 337);
  }
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

export function makeTar(entries: TarEntry[], gzip = false): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.type === undefined || e.type === 'file' ? Buffer.from(e.body ?? '') : Buffer.alloc(0);
    parts.push(header(e, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  return gzip ? zlib.gzipSync(tar) : tar;
}
