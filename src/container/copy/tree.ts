/**
 * Copy a tree entry by entry, never through a symlink at the destination: a
 * symlink there is replaced, not followed, and new files are made with
 * O_EXCL. Symlinks in the source are copied as links; devices, fifos and
 * sockets are skipped (a container's cannot reach the host as device nodes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConflictError } from '../../errors.js';

const lstatOrUndefined = (p: string) => {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
};

export function copyTree(src: string, dest: string): void {
  const st = fs.lstatSync(src);
  const there = lstatOrUndefined(dest);
  if (st.isDirectory()) {
    if (there && !there.isDirectory()) fs.rmSync(dest);
    if (!there?.isDirectory()) fs.mkdirSync(dest, { mode: st.mode & 0o7777 });
    for (const name of fs.readdirSync(src)) copyTree(path.join(src, name), path.join(dest, name));
    fs.chmodSync(dest, st.mode & 0o7777);
    return;
  }
  if (there?.isDirectory()) throw new ConflictError(`cannot overwrite directory ${dest} with non-directory ${src}`);
  if (there) fs.unlinkSync(dest);
  if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dest);
  else if (st.isFile()) {
    fs.copyFileSync(src, dest, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(dest, st.mode & 0o7777);
  }
}

/**
 * Where a copy lands, by Docker's rules: into an existing directory under the
 * source's name, else at the destination itself; "SRC/." copies what is in SRC.
 */
export function landing(srcName: string, srcIsDir: boolean, dest: string, destIsDir: boolean | undefined, contentsOnly: boolean): string {
  if (destIsDir === undefined && dest.endsWith('/') && !srcIsDir) {
    throw new ConflictError(`destination directory ${dest} does not exist`);
  }
  if (destIsDir && !(srcIsDir && contentsOnly)) return path.join(dest, srcName);
  if (destIsDir === false && srcIsDir) throw new ConflictError(`cannot copy a directory to file ${dest}`);
  return dest;
}
