/**
 * Unpacks one image layer without ever writing outside its directory.
 *
 * node-tar (>= 7.5.11) strips `..` and absolute paths by warning and carrying
 * on, and it also rewrites absolute symlink targets, which image layers are
 * full of. So tbox runs it with preservePaths and checks every entry itself
 * before node-tar sees it, refusing a hostile archive whole:
 *   - absolute paths and `..` components
 *   - entries below a symlink this archive created (a write through it)
 *   - hardlinks whose target is absolute, escapes, or goes through a symlink
 *   - device nodes
 * GNU sparse entries, which node-tar would drop, are expanded (sparse.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Transform } from 'node:stream';
import { UnsafeArchiveError, TboxError } from '../errors.js';
import { run } from '../host/command.js';
import { SparseExpander, applySparse } from './sparse.js';

export interface ExtractResult {
  /** sha256 of the uncompressed tar: the layer's OCI diff_id. */
  diffId: string;
  size: number;
}

/**
 * OCI whiteouts become what overlayfs understands: `.wh.NAME` a 0/0
 * character device NAME (hides NAME in lower layers), `.wh..wh..opq` the
 * trusted.overlay.opaque xattr on its directory (hides the lower contents).
 * Node has neither mknod nor setxattr, so one shell script does them all.
 */
function applyWhiteouts(dest: string, whiteouts: string[], opaque: string[]): void {
  if (whiteouts.length === 0 && opaque.length === 0) return;
  const q = (p: string) => `'${path.join(dest, p).replace(/'/g, `'\\''`)}'`;
  const script = [
    'set -e',
    ...opaque.flatMap((d) => [`mkdir -p -- ${q(d)}`, `setfattr -n trusted.overlay.opaque -v y -- ${q(d)}`]),
    ...whiteouts.flatMap((f) => [`mkdir -p -- ${q(path.posix.dirname(f))}`, `rm -rf -- ${q(f)}`, `mknod -- ${q(f)} c 0 0`]),
  ];
  run('sh', ['-s'], { input: script.join('\n') + '\n' });
}

type Verdict = string | undefined;

/** Checks entries in archive order; returns why an entry is unsafe, if it is. */
export class EntryGuard {
  private readonly symlinks = new Set<string>();

  check(rawPath: string, type: string, linkpath?: string): Verdict {
    const p = this.relative(rawPath);
    if (typeof p !== 'string') return p.error;
    if (type === 'CharacterDevice' || type === 'BlockDevice') return `${rawPath}: device nodes are not allowed`;
    const through = this.symlinkAncestor(p);
    if (through) return `${rawPath}: writes through symlink ${through}`;
    if (type === 'Link') {
      const target = this.relative(linkpath ?? '');
      if (typeof target !== 'string') return `${rawPath}: hardlink target ${linkpath}: ${target.error.replace(/^.*: /, '')}`;
      // link(2) does not follow a symlink at the target itself, only above it.
      const via = this.symlinkAncestor(target);
      if (via) return `${rawPath}: hardlink target ${linkpath} goes through symlink ${via}`;
    }
    // Once a symlink, always suspect: a later entry may try to swap it for a
    // directory and write below it, so nothing below it is accepted.
    if (type === 'SymbolicLink') this.symlinks.add(p);
    return undefined;
  }

  private relative(raw: string): string | { error: string } {
    if (raw.startsWith('/')) return { error: `${raw}: absolute path` };
    const norm = path.posix.normalize(raw).replace(/\/+$/, '');
    if (norm === '..' || norm.startsWith('../') || raw.split('/').includes('..')) return { error: `${raw}: path contains ..` };
    return norm === '.' ? '' : norm;
  }

  private symlinkAncestor(p: string): string | undefined {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/');
      if (this.symlinks.has(ancestor)) return ancestor;
    }
    return undefined;
  }
}

function isGzip(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const magic = Buffer.alloc(2);
    fs.readSync(fd, magic, 0, 2, 0);
    return magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/** Extract `archive` (tar or tar.gz) into the empty directory `dest`. */
export async function extractLayer(archive: string, dest: string): Promise<ExtractResult> {
  const tar = await import('tar');
  fs.mkdirSync(dest, { recursive: true });
  const guard = new EntryGuard();
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  let refusal: string | undefined;
  const hash = createHash('sha256');
  let size = 0;
  // Paths node-tar was allowed to write, for the sparse files filled in afterwards.
  const accepted = new Set<string>();
  const sideFile = `${dest}.sparse`;
  const sparse = new SparseExpander(sideFile);
  const measure = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // UnpackSync: the async Unpack queues every entry whose file operations
  // have not finished, and the parser never waits for them: 150,000 small
  // entries took 500 MB. The sync one finishes each entry as it is written,
  // so memory stays at one chunk (and many small files unpack faster).
  const unpack = new tar.UnpackSync({
    cwd: dest,
    strict: true,
    chmod: true,
    processUmask: 0,
    // node-tar would rewrite absolute symlink targets (/bin/sh -> /bin/busybox)
    // relative to the extraction dir, breaking every image; the EntryGuard
    // does the path checks instead.
    preservePaths: true,
    maxDepth: Infinity,
    filter: (p, entry) => {
      if (refusal) return false;
      const e = entry as { type: string; linkpath?: string };
      refusal = guard.check(p, e.type, e.linkpath);
      if (refusal) return false;
      const name = path.posix.basename(p);
      if (!name.startsWith('.wh.')) {
        accepted.add(
          path.posix
            .normalize(p)
            .replace(/^(\.\/)+/, '')
            .replace(/\/+$/, ''),
        );
        return true;
      }
      const dir = path.posix.dirname(path.posix.normalize(p));
      if (name === '.wh..wh..opq') opaque.push(dir);
      else whiteouts.push(path.posix.join(dir, name.slice(4)));
      return false;
    },
  });
  try {
    await pipeline(
      fs.createReadStream(archive),
      isGzip(archive) ? createGunzip() : new PassThrough(),
      measure,
      // after the hash, which must see the archive as it is
      sparse,
      unpack as unknown as NodeJS.WritableStream,
    );
    if (!refusal) applySparse(dest, sideFile, sparse.files, accepted);
  } catch (err) {
    if (err instanceof UnsafeArchiveError) throw err;
    if (['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    if (!refusal) throw new TboxError(`cannot unpack ${archive}: ${(err as Error).message}`);
  } finally {
    fs.rmSync(sideFile, { force: true });
  }
  if (refusal) throw new UnsafeArchiveError(`refusing unsafe archive ${path.basename(archive)}: ${refusal}`);
  applyWhiteouts(dest, whiteouts, opaque);
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}
