import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

// Docker's names are adjective_surname; ours are adjective_noun from the
// kernel parts tbox is made of.
const ADJECTIVES = [
  'brave',
  'calm',
  'eager',
  'fond',
  'gentle',
  'happy',
  'jolly',
  'keen',
  'lucid',
  'merry',
  'nifty',
  'proud',
  'quiet',
  'rapid',
  'sharp',
  'swift',
  'tender',
  'vivid',
  'witty',
  'zen',
];
const NOUNS = [
  'bridge',
  'veth',
  'netns',
  'route',
  'socket',
  'inode',
  'cgroup',
  'overlay',
  'pivot',
  'clone',
  'signal',
  'packet',
  'neigh',
  'chain',
  'table',
  'mount',
  'tmpfs',
  'procfs',
  'pty',
  'futex',
];

const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;

export function generateName(): string {
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}_${Math.floor(Math.random() * 1000)}`;
}

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateName(name: string): string {
  if (!VALID_NAME.test(name) || name.length > 128) {
    throw new InvalidArgumentError(`Invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name;
}

/** A new id: a random (v4) uuid written as 32 hex digits, as Docker ids are hex. */
export const newId = () => randomUUID().replace(/-/g, '');

/** Docker shows the first 12 digits of an id. */
export const shortId = (id: string) => id.slice(0, 12);
