/** --device HOST[:CONTAINER][:PERMISSIONS], as Docker reads it. */
import fs from 'node:fs';
import { InvalidArgumentError } from '../../errors.js';
import type { ContainerDevice } from '../../state/containers.js';
import { deviceNumbers } from '../oci.js';

export function parseDevice(text: string): ContainerDevice {
  const parts = text.split(':');
  const host = parts[0] ?? '';
  let inside = host;
  if (parts.length === 3) inside = parts[1]!;
  if (parts.length === 2 && !/^[rwm]+$/.test(parts[1]!)) inside = parts[1]!;
  const perms = parts.length === 3 ? parts[2]! : parts.length === 2 && /^[rwm]+$/.test(parts[1]!) ? parts[1]! : 'rwm';
  if (parts.length > 3 || !host.startsWith('/') || !inside.startsWith('/') || !/^[rwm]+$/.test(perms)) {
    throw new InvalidArgumentError(`invalid --device "${text}": HOST[:CONTAINER][:rwm], with absolute paths`);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(host);
  } catch {
    throw new InvalidArgumentError(`--device ${host}: no such device on the host`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new InvalidArgumentError(`--device ${host}: not a device node`);
  if (!inside.startsWith('/dev/') || inside.split('/').includes('..'))
    throw new InvalidArgumentError(`--device ${text}: the container path must be under /dev`);
  return { path: inside, type: st.isBlockDevice() ? 'b' : 'c', ...deviceNumbers(st.rdev), hostPath: host };
}
