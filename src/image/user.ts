/**
 * Resolve an image's or --user's USER (name, uid, name:group, uid:gid) to
 * numbers, reading /etc/passwd and /etc/group from the image's layers, top
 * layer first, as they will appear in the container.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** Larger than any real passwd or group file; an image's file beyond it is refused, not read into memory. */
const MAX_TABLE_BYTES = 4 * 1024 * 1024;

/**
 * A file as it will appear in the container, read from the image's layers
 * (top first) without following any symlink: a layer's `etc` pointing at
 * the host's /etc must not make tbox read the host's passwd. A symlink, a
 * whiteout or anything but a plain file hides lower copies, and reads as empty.
 */
function readFromLayers(lowerDirs: string[], rel: string): string {
  for (const dir of lowerDirs) {
    let p = dir;
    let st: fs.Stats | undefined;
    for (const part of rel.split('/')) {
      p = path.join(p, part);
      try {
        st = fs.lstatSync(p);
      } catch {
        st = undefined;
        break;
      }
      if (!st.isDirectory()) break;
    }
    if (!st) continue; // not in this layer
    if (p !== path.join(dir, rel) || !st.isFile()) return '';
    if (st.size > MAX_TABLE_BYTES)
      throw new InvalidArgumentError(`the image's /${rel} is larger than ${MAX_TABLE_BYTES} bytes: refusing to read it`);
    const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      return fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  }
  return '';
}

function lookup(table: string, name: string, field: number): string[] | undefined {
  for (const line of table.split('\n')) {
    const cols = line.split(':');
    if (cols[0] === name || (field === 2 && cols[2] === name)) return cols;
  }
  return undefined;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  home?: string;
}

export function resolveUser(spec: string, lowerDirs: string[]): ResolvedUser {
  const [user, group] = spec.split(':') as [string, string | undefined];
  const passwd = readFromLayers(lowerDirs, 'etc/passwd');
  const entry = lookup(passwd, user, 2);
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(user)) {
    uid = Number(user);
    gid = entry ? Number(entry[3]) : 0;
  } else if (entry) {
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  } else {
    throw new InvalidArgumentError(`unable to find user ${user}: no matching entries in the image's /etc/passwd`);
  }
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const g = lookup(readFromLayers(lowerDirs, 'etc/group'), group, 0);
      if (!g) throw new InvalidArgumentError(`unable to find group ${group}: no matching entries in the image's /etc/group`);
      gid = Number(g[2]);
    }
  }
  return { uid, gid, home: entry?.[5] };
}
