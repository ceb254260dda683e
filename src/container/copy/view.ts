/**
 * <container>/view: where cp and export mount a container's files on the
 * host for the length of one command. Kept apart from copy.ts so that
 * removing a container (on every command's reconcile path) loads no image code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { containerDir } from '../../paths.js';
import { run } from '../../host/command.js';

export const viewDir = (id: string) => path.join(containerDir(id), 'view');

/** A view left mounted by a tbox that was killed mid-copy: unmount it, so the container's directory can go. */
export function releaseView(id: string): void {
  const view = viewDir(id);
  const mounted = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === view);
  if (mounted) run('umount', ['-l', view]);
}
