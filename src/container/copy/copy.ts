/**
 * `tbox cp`: files between a container and the host, both ways, or as a tar
 * stream (`-`). A running container is frozen while its root is read or
 * written through /proc/PID/root, as Docker pauses it; a stopped one has its
 * overlay mounted for the copy and unmounted after.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { containerDir } from '../../paths.js';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { run } from '../../host/command.js';
import { whileHeld } from '../../host/held.js';
import { findContainer, type ContainerRecord } from '../../state/containers.js';
import { lookupImage, lowerDirs } from '../../image/store.js';
import { extractLayer } from '../../image/safe-extract.js';
import { whileFrozen } from '../pause.js';
import { isRunning, reconcile } from '../reconcile.js';
import { resolveInScope } from './scope.js';
import { copyTree, landing } from './tree.js';
import { viewDir } from './view.js';

/**
 * The container's files without its mounts, at <container>/view: read-only,
 * its upper directory as one more lower layer (safe while it runs, frozen);
 * writable, the overlay itself (only for a stopped container).
 */
async function withOverlay<T>(c: ContainerRecord, writable: boolean, use: (root: string) => Promise<T>): Promise<T> {
  const image = lookupImage(c.imageId);
  if (!image) throw new NotFoundError(`image ${c.imageId.slice(7, 19)} of container ${c.name} is gone`);
  const dir = containerDir(c.id);
  const view = viewDir(c.id);
  for (const sub of ['upper', 'work', 'view']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const lowers = lowerDirs(image).join(':');
  const opts = writable ? `lowerdir=${lowers},upperdir=${dir}/upper,workdir=${dir}/work` : `lowerdir=${dir}/upper:${lowers}`;
  run('mount', ['-t', 'overlay', 'overlay', '-o', opts, ...(writable ? [] : ['-r']), view]);
  // Lazy: a tar cut short by its reader (EPIPE) may still hold files open in the view.
  return whileHeld(
    () => run('umount', ['-l', view]),
    () => use(view),
  );
}

/** cp sees what the container sees, volumes too, while it runs: its root through /proc, frozen. */
function withRoot<T>(c: ContainerRecord, writable: boolean, use: (root: string) => Promise<T>): Promise<T> {
  if (isRunning(c) && c.pid) return whileFrozen(c, () => use(`/proc/${c.pid}/root`));
  return withOverlay(c, writable, use);
}

/** `tbox export`: the container's file system (no volumes, no mounts) as a tar. */
export async function exportContainer(ref: string, out: NodeJS.WritableStream | string): Promise<void> {
  reconcile();
  const c = findContainer(ref);
  const tar = await import('tar');
  await whileFrozen(c, () =>
    withOverlay(c, false, async (root) => {
      const entries = fs.readdirSync(root).sort();
      if (typeof out === 'string') await tar.c({ cwd: root, file: out }, entries);
      else await pipeline(tar.c({ cwd: root }, entries), out);
    }),
  );
}

const isDir = (p: string) => fs.lstatSync(p).isDirectory();
const contentsOnly = (p: string) => /\/\.$/.test(p);

/** CTR:SRC to a host path, or to stdout as a tar with `-`. */
export async function copyOut(ref: string, src: string, dest: string): Promise<void> {
  reconcile();
  const c = findContainer(ref);
  await withRoot(c, false, async (root) => {
    const from = resolveInScope(root, src);
    if (!from.exists) throw new NotFoundError(`Could not find the file ${src} in container ${ref}`);
    if (dest === '-') {
      const tar = await import('tar');
      const [cwd, name] = from.inner === '/' ? [from.hostPath, '.'] : [path.dirname(from.hostPath), path.basename(from.hostPath)];
      await pipeline(tar.c({ cwd }, [name]), process.stdout);
      return;
    }
    const destStat = fs.existsSync(dest) ? fs.statSync(dest) : undefined;
    const target = landing(path.basename(from.hostPath) || 'root', isDir(from.hostPath), dest, destStat?.isDirectory(), contentsOnly(src));
    copyTree(from.hostPath, target);
  });
}

/** A host path, or a tar from stdin with `-`, to CTR:DEST. */
export async function copyIn(ref: string, src: string, dest: string): Promise<void> {
  reconcile();
  const c = findContainer(ref);
  let staging: string | undefined;
  try {
    let from = src;
    if (src === '-') {
      // The tar is hostile input: it is unpacked by the checked extractor into a staging directory first.
      staging = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-cp-'));
      const archive = path.join(staging, 'in.tar');
      await pipeline(process.stdin, fs.createWriteStream(archive));
      await extractLayer(archive, path.join(staging, 'tree'));
      from = path.join(staging, 'tree');
    } else if (!fs.existsSync(src)) throw new NotFoundError(`no such file or directory: ${src}`);
    await withRoot(c, true, async (root) => {
      const to = resolveInScope(root, dest);
      const destIsDir = to.exists ? isDir(to.hostPath) : undefined;
      if (src === '-') {
        if (!destIsDir) throw new InvalidArgumentError(`destination "${dest}" must be a directory when the source is a tar stream`);
        for (const name of fs.readdirSync(from)) copyTree(path.join(from, name), path.join(to.hostPath, name));
        return;
      }
      const target = landing(path.basename(path.resolve(src)), isDir(src), to.hostPath, destIsDir, contentsOnly(src));
      if (!fs.existsSync(path.dirname(target))) throw new NotFoundError(`no such directory in container ${ref}: ${path.dirname(dest)}`);
      copyTree(src, target);
    });
  } finally {
    if (staging) fs.rmSync(staging, { recursive: true, force: true });
  }
}
