/** Hostile strings from registries, archives and the command line: digests, references, image configs. */
import { describe, expect, it } from 'vitest';
import { checkDigest, digestFileName, isDigest } from '../../src/image/digest.js';
import { parseReference } from '../../src/image/reference.js';
import { parseImageConfig } from '../../src/image/config.js';
import { parseChanges } from '../../src/image/changes.js';
import { layerDir } from '../../src/paths.js';

const hex64 = 'a'.repeat(64);

describe('digests', () => {
  it('accepts sha256 and sha512 in lower hex of the right length only', () => {
    expect(isDigest(`sha256:${hex64}`)).toBe(true);
    expect(isDigest(`sha512:${'b'.repeat(128)}`)).toBe(true);
    for (const bad of [
      `sha256:${hex64.toUpperCase()}`,
      `sha256:${hex64}a`,
      `sha256:${hex64.slice(1)}`,
      'sha256:../../../etc/passwd',
      `md5:${'a'.repeat(32)}`,
      `sha384:${'a'.repeat(96)}`,
      `sha256:${hex64}\n`,
      `sha256:${'a'.repeat(62)}/.`,
      '',
      42,
      null,
    ]) {
      expect(isDigest(bad), String(bad)).toBe(false);
    }
  });

  it('builds file names only from checked digests', () => {
    expect(digestFileName(`sha256:${hex64}`)).toBe(`sha256-${hex64}`);
    expect(() => digestFileName('sha256:../../x')).toThrow(/invalid digest/);
    expect(() => checkDigest({ digest: 1 }, 'manifest')).toThrow(/^manifest: invalid digest object/);
  });

  it('layer directories refuse a diff_id that is not a sha256 digest', () => {
    expect(layerDir(`sha256:${hex64}`)).toMatch(new RegExp(`/images/layers/${hex64}$`));
    expect(() => layerDir('sha256:../../../tmp')).toThrow(/invalid layer diff_id/);
    expect(() => layerDir(`sha512:${'a'.repeat(128)}`)).toThrow(/invalid layer diff_id/);
  });
});

describe('image references', () => {
  it('normalises as Docker does', () => {
    expect(parseReference('alpine')).toMatchObject({ domain: 'docker.io', path: 'library/alpine', tag: 'latest' });
    expect(parseReference('localhost:5000/a/b:1')).toMatchObject({ domain: 'localhost:5000', path: 'a/b', tag: '1' });
    expect(parseReference('[::1]:5000/x@sha256:' + hex64)).toMatchObject({ domain: '[::1]:5000', digest: `sha256:${hex64}` });
  });

  it('refuses what the distribution grammar does not allow', () => {
    for (const bad of [
      'Foo',
      'a..b/x',
      '-a.example/x',
      'a.example-/x',
      'host:99999/x',
      'x:-tag',
      `x:${'t'.repeat(129)}`,
      'x@sha256:../..',
      `x@md5:${'a'.repeat(32)}`,
      'x/../y',
      'x\ny',
      '',
    ]) {
      expect(() => parseReference(bad), JSON.stringify(bad)).toThrow(/invalid reference format/);
    }
  });

  it('caps the repository name at 255 characters, as Docker does', () => {
    expect(() => parseReference(`r.example/${'a'.repeat(245)}`)).not.toThrow();
    expect(() => parseReference(`r.example/${'a'.repeat(246)}`)).toThrow(/not be more than 255 characters/);
  });
});

describe('image configs', () => {
  const valid = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['A=1'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${hex64}`] },
  };

  it('accepts a well-formed config', () => {
    expect(parseImageConfig(JSON.stringify(valid)).rootfs.diff_ids).toEqual([`sha256:${hex64}`]);
    expect(parseImageConfig(JSON.stringify({ ...valid, config: null })).config).toBeNull();
  });

  it('refuses each malformed field with one line naming it', () => {
    const cases: [unknown, RegExp][] = [
      ['not json', /is not JSON/],
      ['[]', /is not a JSON object/],
      [{ ...valid, rootfs: undefined }, /rootfs is missing/],
      [{ ...valid, rootfs: { type: 'layers', diff_ids: ['sha256:../../etc'] } }, /diff_ids\[0\]: invalid digest/],
      [{ ...valid, rootfs: { type: 'layers', diff_ids: [`sha512:${'a'.repeat(128)}`] } }, /not a sha256 digest/],
      [{ ...valid, rootfs: { type: 'other', diff_ids: [] } }, /rootfs.type is not "layers"/],
      [{ ...valid, config: { Env: 'A=1' } }, /config.Env is not a list of strings/],
      [{ ...valid, config: { Env: ['NOEQUALS'] } }, /config.Env has an entry that is not KEY=VALUE/],
      [{ ...valid, config: { Cmd: [1] } }, /config.Cmd is not a list of strings/],
      [{ ...valid, config: { WorkingDir: 7 } }, /config.WorkingDir is not a string/],
      [{ ...valid, config: { ExposedPorts: [] } }, /config.ExposedPorts is not an object/],
    ];
    for (const [doc, message] of cases) {
      const raw = typeof doc === 'string' ? doc : JSON.stringify(doc);
      expect(() => parseImageConfig(raw), raw.slice(0, 60)).toThrow(message);
    }
  });

  it('refuses a config over 4 MiB without parsing it', () => {
    expect(() => parseImageConfig(' '.repeat(4 * 1024 * 1024 + 1))).toThrow(/larger than 4194304 bytes/);
  });

  it('import --change takes only a JSON list of strings in JSON form', () => {
    expect(parseChanges(['CMD ["a","b"]'])).toEqual({ Cmd: ['a', 'b'] });
    expect(() => parseChanges(['CMD [1]'])).toThrow(/must be a list of strings/);
    expect(() => parseChanges(['CMD [oops'])).toThrow(/must be a list of strings/);
  });
});
