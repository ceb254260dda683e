import { InvalidArgumentError } from '../errors.js';

/** Built-in network modes; user-defined bridge networks come on top of these. */
export const BUILTIN_MODES = ['none', 'host'] as const;
export const DEFAULT_NETWORK = 'none';

export function validateNetworkMode(mode: string): string {
  if ((BUILTIN_MODES as readonly string[]).includes(mode)) return mode;
  throw new InvalidArgumentError(`network ${mode} not found (available: ${BUILTIN_MODES.join(', ')})`);
}
