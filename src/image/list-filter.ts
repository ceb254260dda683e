/**
 * Which rows `tbox images` shows: `images REPO[:TAG]`, and --filter
 * dangling=true|false (untagged or not) and reference=PATTERN (a glob over
 * repository:tag, * not crossing '/'), as Docker reads them.
 */
import { InvalidArgumentError } from '../errors.js';

interface Row {
  Repository: string;
  Tag: string;
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );

export function imageRowFilter(wanted: string | undefined, filters: string[]): (r: Row) => boolean {
  const checks: ((r: Row) => boolean)[] = [];
  if (wanted) {
    const colon = wanted.lastIndexOf(':');
    const hasTag = colon > wanted.lastIndexOf('/');
    const [repo, tag] = hasTag ? [wanted.slice(0, colon), wanted.slice(colon + 1)] : [wanted, undefined];
    checks.push(
      (r) =>
        (r.Repository === repo || r.Repository === repo.replace(/^docker\.io\/(library\/)?/, '')) && (tag === undefined || r.Tag === tag),
    );
  }
  for (const f of filters) {
    const eq = f.indexOf('=');
    const [key, value] = [f.slice(0, eq), f.slice(eq + 1)];
    if (key === 'dangling' && (value === 'true' || value === 'false')) {
      checks.push((r) => (r.Repository === '<none>') === (value === 'true'));
    } else if (key === 'reference') {
      const re = glob(value);
      checks.push((r) => re.test(`${r.Repository}:${r.Tag}`) || re.test(r.Repository));
    } else throw new InvalidArgumentError(`invalid filter '${f}': dangling=true|false or reference=PATTERN`);
  }
  return (r) => checks.every((check) => check(r));
}
