/**
 * Volumes and mounts on the real kernel: data that outlives a container,
 * seeding from the image, read-only mounts, a read-only root with tmpfs,
 * binds of host paths, --volumes-from, and the volume commands.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers.js';

let box: Sandbox;
beforeAll(() => {
  box = makeSandbox();
});
afterAll(() => box.cleanup());

const sh = (args: string[], script: string) => box.tbox(['run', '--rm', ...args, 'busybox', 'sh', '-c', script]);
const mountpoint = (name: string) => JSON.parse(box.tbox(['volume', 'inspect', name]).stdout)[0].Mountpoint as string;
const volumes = () => box.tbox(['volume', 'ls', '-q']).stdout.trim().split('\n').filter(Boolean).sort();

describe('a named volume', () => {
  it('is made on first use, keeps its data after rm, and mounts read-only with :ro', () => {
    expect(sh(['-v', 'keep:/data'], 'echo kept > /data/file').code).toBe(0);
    expect(volumes()).toContain('keep');
    expect(fs.readFileSync(path.join(mountpoint('keep'), 'file'), 'utf8')).toBe('kept\n');
    expect(sh(['-v', 'keep:/data'], 'cat /data/file').stdout).toBe('kept\n');
    const ro = sh(['-v', 'keep:/data:ro'], 'cat /data/file; echo more > /data/file');
    expect(ro.stdout).toBe('kept\n');
    expect(ro.stderr).toContain('Read-only file system');
    expect(ro.code).not.toBe(0);
    expect(sh(['--mount', 'type=volume,source=keep,target=/m,readonly'], 'cat /m/file; touch /m/x 2>&1').stdout).toMatch(
      /kept\n.*Read-only/s,
    );
  });

  it("when new, is seeded from the image's files at its path, with their owner and mode; an existing one is not", () => {
    expect(sh(['-v', 'etcvol:/etc'], 'ls /etc').stdout).toContain('passwd');
    const dir = mountpoint('etcvol');
    expect(fs.readFileSync(path.join(dir, 'passwd'), 'utf8')).toContain('root:');
    expect(fs.statSync(path.join(dir, 'passwd')).mode & 0o777).toBe(0o644);
    fs.rmSync(path.join(dir, 'group'));
    // not empty any more: nothing is copied again
    expect(sh(['-v', 'etcvol:/etc'], 'ls /etc').stdout).not.toContain('group');
    // nocopy: an empty volume stays empty
    expect(sh(['-v', 'bare:/etc:nocopy'], 'ls /etc | grep -c passwd').stdout.trim()).toBe('0');
  });

  it('in use cannot be removed; rm -v and --rm remove anonymous volumes, never named ones', () => {
    expect(box.tbox(['run', '-d', '--name', 'user', '-v', 'busy:/b', '-v', '/anon', 'busybox', 'sleep', '600']).code).toBe(0);
    const anon = volumes().filter((v) => /^[0-9a-f]{64}$/.test(v));
    expect(anon).toHaveLength(1);
    const rm = box.tbox(['volume', 'rm', 'busy']);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toBe('tbox: remove busy: volume is in use - [user]\n');
    box.tbox(['stop', '-t', '1', 'user']);
    // stopped still counts, as in Docker
    expect(box.tbox(['volume', 'rm', 'busy']).code).toBe(1);
    expect(box.tbox(['rm', '-v', 'user']).code).toBe(0);
    expect(volumes()).not.toContain(anon[0]);
    expect(volumes()).toContain('busy');
    expect(box.tbox(['volume', 'rm', 'busy']).stdout).toBe('busy\n');

    const before = volumes();
    expect(sh(['-v', '/scratch'], 'echo x > /scratch/x').code).toBe(0);
    expect(volumes()).toEqual(before);
  });

  it('ls, inspect, create and prune look as in Docker', () => {
    expect(box.tbox(['volume', 'create', 'made']).stdout).toBe('made\n');
    expect(box.tbox(['volume', 'create', 'made']).code).toBe(0);
    expect(box.tbox(['volume', 'ls']).stdout.split('\n')[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
    const info = JSON.parse(box.tbox(['volume', 'inspect', 'made']).stdout)[0];
    expect(info).toMatchObject({
      Driver: 'local',
      Name: 'made',
      Scope: 'local',
      Mountpoint: path.join(box.root, 'volumes', 'made', '_data'),
    });
    const anon = box.tbox(['volume', 'create']).stdout.trim();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    const prune = box.tbox(['volume', 'prune', '-f']);
    expect(prune.stdout).toContain(anon);
    expect(prune.stdout).not.toContain('made');
    expect(volumes()).toContain('made');
    expect(box.tbox(['volume', 'prune', '-f', '-a']).stdout).toContain('made');
    expect(box.tbox(['volume', 'inspect', 'made']).code).not.toBe(0);
  });
});

describe('host paths, tmpfs and a read-only root', () => {
  it('-v /host:/path binds a host directory, made if missing; :ro is read-only', () => {
    const host = path.join(box.root, 'hostdir', 'deep');
    expect(sh(['-v', `${host}:/h`], 'echo from-container > /h/f').code).toBe(0);
    expect(fs.readFileSync(path.join(host, 'f'), 'utf8')).toBe('from-container\n');
    expect(sh(['-v', `${host}:/h:ro`], 'cat /h/f; touch /h/g').code).not.toBe(0);
    expect(fs.existsSync(path.join(host, 'g'))).toBe(false);
    // --mount type=bind wants the source to exist, as in Docker
    const r = box.tbox(['run', '--rm', '--mount', `type=bind,source=${box.root}/nope,target=/x`, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('bind source path does not exist');
  });

  it('--read-only makes the root read-only while /etc files, /dev, --tmpfs and volumes stay writable', () => {
    const r = sh(
      ['--read-only', '--tmpfs', '/run:size=1m,mode=1777', '-v', 'rw:/data'],
      'touch /x 2>/dev/null && echo root-writable; echo h >> /etc/hosts && touch /run/a /dev/shm/b /data/c && echo ok; grep " /run " /proc/mounts',
    );
    expect(r.stdout).toMatch(/^ok\ntmpfs \/run tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k(,mode=1777)? 0 0\n$/);
    expect(box.tbox(['run', '--name', 'ro', '--read-only', 'busybox', 'true']).code).toBe(0);
    expect(box.tbox(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', 'ro']).stdout).toBe('true\n');
    box.tbox(['rm', 'ro']);
  });

  it("--volumes-from takes another container's volumes and binds, read-only with :ro", () => {
    expect(box.tbox(['run', '--name', 'donor', '-v', 'shared:/shared', 'busybox', 'sh', '-c', 'echo given > /shared/g']).code).toBe(0);
    try {
      expect(sh(['--volumes-from', 'donor'], 'cat /shared/g').stdout).toBe('given\n');
      expect(sh(['--volumes-from', 'donor:ro'], 'touch /shared/x').code).not.toBe(0);
    } finally {
      box.tbox(['rm', 'donor']);
    }
  });
});

describe('bad mount input: one line, exit 125, nothing made', () => {
  it.each([
    ['-v', 'bad name:/x'],
    ['-v', 'vol:relative'],
    ['-v', 'vol:/x:rx'],
    ['-v', 'vol:/'],
    ['--mount', 'type=nfs,target=/x'],
    ['--mount', 'type=volume,source=v'],
    ['--tmpfs', '/t:size=1m;rm'],
    ['--volumes-from', 'nosuch'],
  ])('%s %s', (flag, value) => {
    const before = volumes();
    const r = box.tbox(['run', '--rm', flag, value, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(volumes()).toEqual(before);
    expect(box.tbox(['ps', '-aq']).stdout).toBe('');
  });

  it('two mounts on one path are refused', () => {
    const r = box.tbox(['run', '--rm', '-v', 'a1:/x', '--tmpfs', '/x', 'busybox', 'true']);
    expect(r.stderr).toBe('tbox: Duplicate mount point: /x\n');
  });
});
