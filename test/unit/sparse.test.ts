/** The sparse expander on archives GNU tar writes, and on ones crafted to lie. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Parser } from 'tar';
import { SparseExpander } from '../../src/image/sparse.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-unit-sparse-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sparseTar(format: 'gnu' | 'posix'): Buffer {
  const file = path.join(tmp, 'big');
  fs.writeFileSync(file, '');
  fs.truncateSync(file, 10 * 1024 * 1024);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, 'hello', 4096 * 3);
  fs.closeSync(fd);
  const out = path.join(tmp, `${format}.tar`);
  expect(spawnSync('tar', ['--sparse', `--format=${format}`, '-cf', out, '-C', tmp, 'big']).status).toBe(0);
  return fs.readFileSync(out);
}

async function expand(tar: Buffer) {
  const ex = new SparseExpander(path.join(tmp, 'side'));
  const out: Buffer[] = [];
  await pipeline(Readable.from([tar]), ex, new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }));
  return { files: ex.files, out: Buffer.concat(out) };
}

describe('sparse expander', () => {
  for (const format of ['gnu', 'posix'] as const) {
    it(`turns a ${format} sparse entry into an empty regular file and a map of its data`, async () => {
      const { files, out } = await expand(sparseTar(format));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatchObject({ path: 'big', realSize: 10 * 1024 * 1024 });
      expect(files[0]!.chunks.filter((c) => c.length > 0).map((c) => c.offset)).toContain(4096 * 3);
      // What node-tar sees: one empty regular file under its real name.
      const seen: string[] = [];
      const parser = new Parser({ onReadEntry: (e) => (seen.push(`${e.type} ${e.path} ${e.size}`), e.resume()) });
      await pipeline(Readable.from([out]), parser as unknown as NodeJS.WritableStream);
      expect(seen).toEqual(['File big 0']);
      expect(out.includes(Buffer.from('GNU.sparse'))).toBe(false);
    });
  }

  it('refuses a map that reaches past the real size', async () => {
    const tar = sparseTar('posix');
    const lie = Buffer.from(tar.toString('latin1').replace('GNU.sparse.realsize=10485760', 'GNU.sparse.realsize=00000100'), 'latin1');
    await expect(expand(lie)).rejects.toThrow(/sparse map that does not fit its file/);
  });

  it('refuses the 0.x PAX formats it does not expand, rather than writing them wrongly', async () => {
    const tar = sparseTar('posix');
    const old = Buffer.from(tar.toString('latin1').replace('GNU.sparse.major=1', 'GNU.sparse.major=0'), 'latin1');
    await expect(expand(old)).rejects.toThrow(/GNU sparse format 0.x is not supported/);
  });
});
