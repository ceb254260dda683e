/**
 * A path inside a container's root, resolved as if that root were "/":
 * absolute symlinks and ".." stop at the root (Docker's FollowSymlinkInScope).
 * The container is frozen or stopped while tbox cp uses the answer, so
 * nothing can swap a component for a symlink between check and use
 * (CVE-2018-15664).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../../errors.js';

const MAX_LINKS = 40;

export interface Resolved {
  /** the host path: root plus the components that exist, none a symlink, then those that do not */
  hostPath: string;
  /** the path inside the container */
  inner: string;
  exists: boolean;
}

export function resolveInScope(root: string, inner: string): Resolved {
  const done: string[] = [];
  let todo = inner.split('/').filter(Boolean);
  let links = 0;
  let exists = true;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = path.join(root, ...done, part);
    let st: fs.Stats | undefined;
    try {
      st = exists ? fs.lstatSync(candidate) : undefined;
    } catch {
      exists = false;
    }
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new InvalidArgumentError(`too many levels of symbolic links in ${inner}`);
      const target = fs.readlinkSync(candidate);
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/').filter(Boolean), ...todo];
      continue;
    }
    if (st && !st.isDirectory() && todo.some((p) => p !== '.' && p !== '')) {
      throw new InvalidArgumentError(`${inner}: ${['', ...done, part].join('/')} is not a directory`);
    }
    done.push(part);
  }
  return { hostPath: path.join(root, ...done), inner: `/${done.join('/')}`, exists };
}
