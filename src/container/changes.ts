/**
 * What a container changed, read from its overlay's upper directory: every
 * entry there was added (A), changed (C, it is also in a lower layer) or
 * deleted (D, a whiteout: a 0/0 character device). The upper directory is
 * the container's to write, so it is only lstat'ed, never followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { containerDir } from '../paths.js';

export interface Change {
  kind: 'A' | 'C' | 'D';
  path: string;
}

const isWhiteout = (st: fs.Stats) => st.isCharacterDevice() && st.rdev === 0;

/** Files tbox itself puts in every container (mount targets of its /etc files): not the container's changes, as in Docker. */
const TBOX_FILES = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

export function containerChanges(id: string, lowers: string[]): Change[] {
  const upper = path.join(containerDir(id), 'upper');
  const inLower = (rel: string) => lowers.some((l) => fs.existsSync(path.join(l, rel)) || isSymlink(path.join(l, rel)));
  const out: Change[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(upper, rel)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const r = path.join(rel, name);
      const st = fs.lstatSync(path.join(upper, r));
      const kind = isWhiteout(st) ? 'D' : inLower(r) ? 'C' : 'A';
      if (!(kind === 'A' && TBOX_FILES.has(`/${r}`))) out.push({ kind, path: `/${r}` });
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Bytes the container wrote (its upper directory), for ps -s and system df. */
export const upperSize = (id: string) => treeSize(path.join(containerDir(id), 'upper'));

/** Bytes in the regular files below dir, links not followed. */
export function treeSize(root: string): number {
  let total = 0;
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const st = fs.lstatSync(path.join(dir, name));
      if (st.isDirectory()) walk(path.join(dir, name));
      else if (st.isFile()) total += st.size;
    }
  };
  walk(root);
  return total;
}
