import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers.js';
import { makeTar, type TarEntry } from '../tar-writer.js';

let box: Sandbox;
beforeAll(() => {
  box = makeSandbox();
  // The imported images below reuse busybox's binary.
  expect(box.tbox(['run', '--rm', 'busybox', 'true']).code).toBe(0);
});
afterAll(() => box.cleanup());

const busyboxBinary = () => fs.readFileSync('/bin/busybox');

function writeArchive(name: string, entries: TarEntry[], gzip = false): string {
  const file = path.join(box.root, name);
  fs.writeFileSync(file, makeTar(entries, gzip));
  return file;
}

describe('tbox import / images / rmi', () => {
  it('imports a rootfs tar.gz and runs it with --change CMD', () => {
    const dir = path.join(box.root, 'mini');
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'bin', 'busybox'), busyboxBinary(), { mode: 0o755 });
    fs.symlinkSync('busybox', path.join(dir, 'bin', 'sh'));
    fs.writeFileSync(path.join(dir, 'greeting'), 'imported!\n');
    const archive = path.join(box.root, 'mini.tar.gz');
    const made = spawnSync('tar', ['-czf', archive, '-C', dir, '.']);
    expect(made.status).toBe(0);
    const r = box.tbox(['import', '--change', 'CMD ["/bin/busybox", "cat", "/greeting"]', archive, 'mini:1.0']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(box.tbox(['run', '--rm', 'mini:1.0']).stdout).toBe('imported!\n');
    const images = box.tbox(['images']).stdout;
    expect(images).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    expect(images).toMatch(/\nmini\s+1\.0\s+[0-9a-f]{12}\s+.*ago\s+[\d.]+[kM]B\n/);
    const json = box
      .tbox(['images', '--format', 'json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(json.map((i) => i.Repository).sort()).toEqual(['busybox', 'mini']);
  });

  it('honours the image User and Entrypoint, and -u overrides the user', () => {
    const archive = path.join(box.root, 'mini.tar.gz');
    const r = box.tbox(['import', '-c', 'USER 65534', '-c', 'ENTRYPOINT ["/bin/busybox", "id"]', '-c', 'EXPOSE 8080', archive, 'asuser']);
    expect(r.code).toBe(0);
    expect(box.tbox(['run', '--rm', 'asuser', '-u']).stdout).toBe('65534\n');
    expect(box.tbox(['run', '--rm', '-u', '0:5', 'asuser', '-g']).stdout).toBe('5\n');
    expect(box.tbox(['run', '--rm', '-u', 'ghost', 'asuser']).stderr).toMatch(/unable to find user ghost/);
    const [info] = JSON.parse(box.tbox(['inspect', 'asuser']).stdout);
    expect(info.Config.ExposedPorts).toEqual({ '8080/tcp': {} });
    box.tbox(['rmi', 'asuser']);
  });

  it('rmi refuses an image a container uses, then removes it and its layer', () => {
    expect(box.tbox(['run', '--name', 'user', 'mini:1.0']).code).toBe(0);
    const refused = box.tbox(['rmi', 'mini:1.0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/in use by container/);
    box.tbox(['rm', 'user']);
    const layersBefore = fs.readdirSync(path.join(box.root, 'images', 'layers')).length;
    const r = box.tbox(['rmi', 'mini:1.0']);
    expect(r.stdout).toMatch(/Untagged: mini:1.0\nDeleted: sha256:/);
    expect(fs.readdirSync(path.join(box.root, 'images', 'layers')).length).toBe(layersBefore - 1);
    // a failed name is exit 1, as Docker's rmi gives
    expect(box.tbox(['rmi', 'mini:1.0']).code).toBe(1);
  });

  it('an unknown image is a clear 125', () => {
    const r = box.tbox(['run', '--rm', '--pull', 'never', 'nosuchimage', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^tbox: No such image: nosuchimage/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  const sentinel = '/tmp/tbox-escape-sentinel';
  const hostile: [string, TarEntry[]][] = [
    [
      'a ../ path',
      [
        { path: 'bin/', type: 'dir' },
        { path: `../../../../../..${sentinel}`, body: 'pwned' },
      ],
    ],
    ['an absolute path', [{ path: sentinel, body: 'pwned' }]],
    [
      'a write through a symlink',
      [
        { path: 'evil', type: 'symlink', linkpath: '/tmp' },
        { path: 'evil/tbox-escape-sentinel', body: 'pwned' },
      ],
    ],
    [
      'a symlink swapped for a directory, then written through',
      [
        { path: 'evil', type: 'symlink', linkpath: '/tmp' },
        { path: 'evil/', type: 'dir' },
        { path: 'evil/tbox-escape-sentinel', body: 'pwned' },
      ],
    ],
    ['a hardlink to a file outside', [{ path: 'passwd', type: 'hardlink', linkpath: '../../../../../../etc/passwd' }]],
    ['an absolute hardlink', [{ path: 'passwd', type: 'hardlink', linkpath: '/etc/passwd' }]],
    [
      'a hardlink through a symlink',
      [
        { path: 'etc', type: 'symlink', linkpath: '/etc' },
        { path: 'shadow', type: 'hardlink', linkpath: 'etc/passwd' },
      ],
    ],
    ['a device node', [{ path: 'null', type: 'chardev' }]],
  ];

  it.each(hostile)('refuses a tar with %s and leaves nothing behind', (label, entries) => {
    fs.rmSync(sentinel, { force: true });
    const layersDir = path.join(box.root, 'images', 'layers');
    const layersBefore = fs.readdirSync(layersDir).sort();
    const imagesBefore = box.tbox(['images', '-q']).stdout;
    const archive = writeArchive(`hostile-${label.replace(/\W+/g, '-')}.tar`, entries);
    const r = box.tbox(['import', archive, 'hostile:latest']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tbox: refusing unsafe archive/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(sentinel)).toBe(false);
    expect(fs.readdirSync(layersDir).sort()).toEqual(layersBefore);
    expect(box.tbox(['images', '-q']).stdout).toBe(imagesBefore);
    expect(fs.readFileSync('/etc/passwd', 'utf8')).toMatch(/^root:/);
  });

  it('accepts symlinks with absolute targets, which real images are full of', () => {
    const archive = writeArchive('links.tar', [
      { path: 'bin/', type: 'dir' },
      { path: 'bin/busybox', body: 'x', mode: 0o755 },
      { path: 'bin/sh', type: 'symlink', linkpath: '/bin/busybox' },
      { path: 'bin/ash', type: 'hardlink', linkpath: 'bin/busybox' },
    ]);
    const r = box.tbox(['import', archive, 'links']);
    expect(r.code).toBe(0);
    const [image] = JSON.parse(box.tbox(['inspect', 'links']).stdout);
    const layer = path.join(box.root, 'images', 'layers', image.RootFS.Layers[0].replace('sha256:', ''));
    expect(fs.readlinkSync(path.join(layer, 'bin', 'sh'))).toBe('/bin/busybox');
    expect(fs.statSync(path.join(layer, 'bin', 'ash')).nlink).toBe(2);
    box.tbox(['rmi', 'links']);
  });
});

describe('large and sparse layers', () => {
  it('expands GNU sparse files (old GNU and PAX 1.0 formats) with their holes, instead of dropping them', () => {
    const dir = path.join(box.root, 'sparse-src');
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'bin', 'busybox'), busyboxBinary(), { mode: 0o755 });
    const big = path.join(dir, 'big');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 64 * 1024 * 1024);
    const fd = fs.openSync(big, 'r+');
    fs.writeSync(fd, 'hello', 1000);
    fs.writeSync(fd, 'world', 40_000_000);
    fs.closeSync(fd);
    const want = spawnSync('md5sum', [big], { encoding: 'utf8' }).stdout.split(' ')[0];
    for (const format of ['gnu', 'posix']) {
      const archive = path.join(box.root, `sparse-${format}.tar`);
      expect(spawnSync('tar', ['--sparse', `--format=${format}`, '-cf', archive, '-C', dir, 'big', 'bin']).status).toBe(0);
      expect(box.tbox(['import', archive, `sparse:${format}`]).stderr).toBe('');
      const r = box.tbox([
        'run',
        '--rm',
        '--network',
        'none',
        `sparse:${format}`,
        '/bin/busybox',
        'sh',
        '-c',
        'busybox md5sum /big; busybox stat -c "%s %b" /big',
      ]);
      const [sum, stat] = r.stdout.trim().split('\n');
      expect(sum).toBe(`${want}  /big`);
      const [bytes, blocks] = stat!.split(' ').map(Number);
      expect(bytes).toBe(64 * 1024 * 1024);
      // The holes stay holes: a few blocks on disk, not 64 MiB.
      expect(blocks! * 512).toBeLessThan(1024 * 1024);
    }
  });

  it('unpacks a 150,000-entry layer in a 64 MB JavaScript heap: extraction streams', () => {
    const archive = path.join(box.root, 'many.tar');
    const fd = fs.openSync(archive, 'w');
    fs.writeSync(
      fd,
      makeTar([
        { path: 'bin', type: 'dir' },
        { path: 'bin/busybox', body: busyboxBinary(), mode: 0o755 },
      ]).subarray(0, -1024),
    );
    for (let d = 0; d < 1500; d++) {
      const entries: TarEntry[] = [{ path: `d${d}`, type: 'dir' }];
      for (let f = 0; f < 99; f++) entries.push({ path: `d${d}/f${f}`, body: '' });
      fs.writeSync(fd, makeTar(entries).subarray(0, -1024));
    }
    fs.writeSync(fd, Buffer.alloc(1024));
    fs.closeSync(fd);
    const r = box.tbox(['import', archive, 'many:1'], { env: { NODE_OPTIONS: '--max-old-space-size=64' }, timeout: 300_000 });
    expect(r.stderr).toBe('');
    expect(
      box.tbox(['run', '--rm', '--network', 'none', 'many:1', '/bin/busybox', 'sh', '-c', 'busybox ls /d1499 | busybox wc -l']).stdout,
    ).toBe('99\n');
    expect(box.tbox(['rmi', 'many:1']).code).toBe(0);
  });
});
