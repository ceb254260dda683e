/**
 * An overlay directory (a layer in the store, or a container's upper
 * directory) as an OCI layer tar: a whiteout (0/0 character device) becomes
 * `.wh.NAME`, an opaque directory gets `.wh..wh..opq`, as in the spec's
 * "Representing Changes". A staging tree of hard links holds the renamed
 * entries, so no file's data is copied before node-tar reads it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { run } from '../host/command.js';

const isWhiteout = (st: fs.Stats) => st.isCharacterDevice() && st.rdev === 0;

/** Directories marked opaque (trusted.overlay.opaque=y), relative to dir; getfattr walks without following links. */
function opaqueDirs(dir: string): Set<string> {
  const r = run('getfattr', ['-R', '-P', '--absolute-names', '-n', 'trusted.overlay.opaque', dir], { allowFailure: true });
  const out = new Set<string>();
  let file = '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice(8);
    else if (line === 'trusted.overlay.opaque="y"') out.add(path.relative(dir, file));
  }
  return out;
}

/** An empty marker file with the time of what it stands for, so packing the same tree twice gives the same bytes. */
function marker(file: string, like: fs.Stats): void {
  fs.writeFileSync(file, '');
  fs.utimesSync(file, like.mtime, like.mtime);
}

/**
 * What node-tar is told of each entry: its own lstat, less what changes each
 * time it is read or staged (atime, ctime, inode numbers, link counts), so a
 * layer packs to the same tar and the same digest every time (push finds its
 * layers already there). Hard links are stored as separate files.
 */
function steadyStats(root: string): Map<string, fs.Stats> {
  const cache = new Map<string, fs.Stats>();
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      const st = fs.lstatSync(p);
      const steady = Object.assign(Object.create(Object.getPrototypeOf(st) as object) as fs.Stats, st, {
        atime: st.mtime,
        ctime: st.mtime,
        atimeMs: st.mtimeMs,
        ctimeMs: st.mtimeMs,
        dev: 0,
        ino: 0,
        nlink: 1,
      });
      cache.set(p, steady);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return cache;
}

function stage(src: string, dest: string, rel: string, opaque: Set<string>): void {
  for (const name of fs.readdirSync(path.join(src, rel)).sort()) {
    const r = path.join(rel, name);
    const from = path.join(src, r);
    const st = fs.lstatSync(from);
    const to = path.join(dest, r);
    if (isWhiteout(st)) marker(path.join(dest, rel, `.wh.${name}`), st);
    else if (st.isDirectory()) {
      fs.mkdirSync(to);
      if (opaque.has(r)) marker(path.join(to, '.wh..wh..opq'), st);
      stage(src, dest, r, opaque);
      fs.chownSync(to, st.uid, st.gid);
      fs.chmodSync(to, st.mode & 0o7777);
      fs.utimesSync(to, st.atime, st.mtime);
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(from), to);
      fs.lchownSync(to, st.uid, st.gid);
      fs.lutimesSync(to, st.mtime, st.mtime);
    } else if (st.isFile()) fs.linkSync(from, to);
    // fifos, sockets and other devices are not carried into an image
  }
}

/** Write dir as a layer tar to `out`; its sha256 is the layer's diff_id. */
export async function packLayer(dir: string, out: string): Promise<{ diffId: string; size: number }> {
  const tar = await import('tar');
  const staging = `${out}.staging-${randomUUID()}`;
  fs.mkdirSync(staging);
  try {
    stage(dir, staging, '', opaqueDirs(dir));
    const entries = fs.readdirSync(staging).sort();
    if (entries.length === 0) fs.writeFileSync(out, Buffer.alloc(1024));
    else await tar.c({ cwd: staging, file: out, statCache: steadyStats(staging) }, entries);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const hash = createHash('sha256');
  const fd = fs.openSync(out, 'r');
  const buf = Buffer.alloc(1 << 20);
  let size = 0;
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; size += n) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}
