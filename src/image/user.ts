/**
 * Resolve an image's or --user's USER (name, uid, name:group, uid:gid) to
 * numbers, reading /etc/passwd and /etc/group from the image's layers, top
 * layer first, as they will appear in the container.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';

function readFromLayers(lowerDirs: string[], file: string): string {
  for (const dir of lowerDirs) {
    const p = path.join(dir, file);
    try {
      const st = fs.lstatSync(p);
      if (st.isFile()) return fs.readFileSync(p, 'utf8');
      return ''; // a whiteout or something else hides lower copies
    } catch {
      // not in this layer
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
