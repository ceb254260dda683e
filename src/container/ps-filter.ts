/**
 * `ps --filter`, as Docker reads it: each KEY=VALUE keeps the containers it
 * matches; values of one key are ORed, different keys ANDed.
 */
import { InvalidArgumentError } from '../errors.js';
import { statusWord, type ContainerRecord } from '../state/containers.js';
import type { ImageRecord } from '../state/images.js';

const KEYS = ['status', 'name', 'id', 'label', 'network', 'ancestor', 'exited'] as const;
type Key = (typeof KEYS)[number];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

export function parseFilters(filters: string[]): Map<Key, string[]> {
  const wanted = new Map<Key, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = f.slice(0, eq) as Key;
    const value = f.slice(eq + 1);
    if (eq < 0 || !KEYS.includes(key)) throw new InvalidArgumentError(`invalid filter '${f}': the keys are ${KEYS.join(', ')}`);
    if (key === 'status' && !STATUSES.includes(value)) {
      throw new InvalidArgumentError(`invalid filter 'status=${value}': one of ${STATUSES.join(', ')}`);
    }
    if (key === 'exited' && !/^-?\d+$/.test(value)) throw new InvalidArgumentError(`invalid filter 'exited=${value}': an exit code`);
    wanted.set(key, [...(wanted.get(key) ?? []), value]);
  }
  return wanted;
}

/** Does a container match one filter value? `images` resolves ancestor= to image ids. */
function matches(key: Key, value: string, c: ContainerRecord, imageOf: (ref: string) => ImageRecord | undefined): boolean {
  switch (key) {
    case 'status':
      return statusWord(c) === value;
    case 'name':
      // Docker matches names as a regular expression; a bad one matches nothing
      try {
        return new RegExp(value).test(c.name);
      } catch {
        return false;
      }
    case 'id':
      return c.id.startsWith(value);
    case 'label': {
      const eq = value.indexOf('=');
      const labels = c.spec.labels ?? {};
      return eq < 0 ? value in labels : labels[value.slice(0, eq)] === value.slice(eq + 1);
    }
    case 'network':
      return c.spec.network === value;
    case 'ancestor':
      return c.imageRef === value || c.imageId === imageOf(value)?.id;
    case 'exited':
      return c.state === 'exited' && c.exitCode === Number(value);
  }
}

export function filterContainers(
  list: ContainerRecord[],
  wanted: Map<Key, string[]>,
  imageOf: (ref: string) => ImageRecord | undefined,
): ContainerRecord[] {
  return list.filter((c) => [...wanted].every(([key, values]) => values.some((v) => matches(key, v, c, imageOf))));
}
