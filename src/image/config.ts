/**
 * The OCI image config, parsed as hostile input: it comes from a registry, an
 * archive or `import --change`, and its diff_ids name directories in the
 * layer store. Only a config whose every field tbox uses has the right type
 * is accepted, with one line saying what is wrong otherwise.
 */
import { TboxError } from '../errors.js';
import { checkDigest } from './digest.js';
import type { ImageConfig } from '../state/images.js';

export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export class InvalidImageConfigError extends TboxError {}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function fail(where: string, why: string): never {
  throw new InvalidImageConfigError(`image config is invalid: ${where} ${why}`);
}

function optionalStrings(obj: Record<string, unknown>, key: string): void {
  const v = obj[key];
  if (v !== undefined && v !== null && !isStringArray(v)) fail(`config.${key}`, 'is not a list of strings');
}

function optionalString(obj: Record<string, unknown>, key: string): void {
  const v = obj[key];
  if (v !== undefined && v !== null && typeof v !== 'string') fail(`config.${key}`, 'is not a string');
}

export function parseImageConfig(raw: string): ImageConfig {
  if (raw.length > MAX_CONFIG_BYTES) fail('the document', `is larger than ${MAX_CONFIG_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    fail('the document', `is not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('the document', 'is not a JSON object');
  const cfg = doc as Record<string, unknown>;
  const rootfs = cfg.rootfs as Record<string, unknown> | undefined;
  if (typeof rootfs !== 'object' || rootfs === null) fail('rootfs', 'is missing');
  if (rootfs.type !== 'layers') fail('rootfs.type', 'is not "layers"');
  if (!Array.isArray(rootfs.diff_ids)) fail('rootfs.diff_ids', 'is not a list');
  rootfs.diff_ids.forEach((d, i) => {
    const digest = checkDigest(d, `image config rootfs.diff_ids[${i}]`);
    if (!digest.startsWith('sha256:')) fail(`rootfs.diff_ids[${i}]`, 'is not a sha256 digest');
  });
  for (const key of ['architecture', 'os', 'created']) {
    if (cfg[key] !== undefined && typeof cfg[key] !== 'string') fail(key, 'is not a string');
  }
  const inner = cfg.config;
  if (inner !== undefined && inner !== null) {
    if (typeof inner !== 'object' || Array.isArray(inner)) fail('config', 'is not an object');
    const c = inner as Record<string, unknown>;
    for (const key of ['Env', 'Cmd', 'Entrypoint']) optionalStrings(c, key);
    for (const key of ['WorkingDir', 'User', 'StopSignal']) optionalString(c, key);
    if (isStringArray(c.Env) && c.Env.some((e) => !/^[^=\0]+=[^\0]*$/.test(e))) fail('config.Env', 'has an entry that is not KEY=VALUE');
    for (const key of ['ExposedPorts', 'Volumes', 'Labels']) {
      const v = c[key];
      if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) fail(`config.${key}`, 'is not an object');
    }
  }
  return cfg as unknown as ImageConfig;
}
