/**
 * Built-in images are built from a recipe in images/<name>/ the first time a
 * user asks for them, so `tbox run busybox` needs no manual step.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recipesDir } from '../paths.js';
import { run } from '../host/command.js';
import { HostToolMissingError } from '../errors.js';
import { importRootfs, type ContainerConfig } from './store.js';
import type { ImageRecord } from '../state/images.js';
import type { ImageReference } from './reference.js';

/** A built-in image is docker.io/library/NAME:latest with a recipe in images/NAME/. */
function builtinName(ref: ImageReference): string | undefined {
  const m = /^library\/([a-z0-9-]+)$/.exec(ref.path);
  if (ref.domain !== 'docker.io' || ref.tag !== 'latest' || ref.digest || !m) return undefined;
  return fs.existsSync(path.join(recipesDir, m[1]!, 'recipe.sh')) ? m[1] : undefined;
}

export const isBuiltin = (ref: ImageReference) => builtinName(ref) !== undefined;

/** A static binary has no PT_INTERP program header; a dynamic one can't run in an empty rootfs. */
function isStaticElf(file: string): boolean {
  const elf = fs.readFileSync(file);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
}

function findHostBusybox(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/bin', '/usr/bin'])) {
    const candidate = path.join(dir, 'busybox');
    if (dir && fs.existsSync(candidate) && isStaticElf(candidate)) return candidate;
  }
  throw new HostToolMissingError('static busybox not found (needed for the busybox image): apt-get install busybox-static');
}

export async function buildBuiltin(ref: ImageReference): Promise<ImageRecord> {
  const name = builtinName(ref)!;
  const recipe = path.join(recipesDir, name);
  const busybox = findHostBusybox();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-recipe-'));
  try {
    const tarPath = path.join(tmp, 'rootfs.tar');
    run('sh', [path.join(recipe, 'recipe.sh'), tarPath], { extraEnv: { BUSYBOX: busybox } });
    const config = JSON.parse(fs.readFileSync(path.join(recipe, 'config.json'), 'utf8')) as ContainerConfig;
    // A fixed creation time keeps the image id reproducible, so two tbox
    // processes building it at once agree on the result.
    const created = fs.statSync(busybox).mtime.toISOString();
    return await importRootfs(tarPath, `${name}:latest`, config, created);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
