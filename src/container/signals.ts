/** Signal names and numbers, as kill(1) and Docker's --signal take them. */
import os from 'node:os';
import { InvalidArgumentError } from '../errors.js';

export function parseSignal(text: string): number {
  const name = text.toUpperCase().replace(/^SIG/, '');
  const n = /^\d+$/.test(name) ? Number(name) : os.constants.signals[`SIG${name}` as keyof typeof os.constants.signals];
  if (n === undefined || n < 1 || n > 64) throw new InvalidArgumentError(`invalid signal: ${text}`);
  return n;
}
