/**
 * Images and containers as an attacker would make them: nothing of theirs
 * may run on the host or touch a host path. Each test keeps a "victim"
 * directory outside the data root and checks it is exactly as it was.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, makeSandbox, run, treeSnapshot, type Sandbox } from '../helpers.js';
import { makeTar, type TarEntry } from '../tar-writer.js';

let box: Sandbox;
// Made at load time: the test cases below name it.
const victim = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-test-victim-'));
beforeAll(() => {
  box = makeSandbox();
  fs.writeFileSync(path.join(victim, 'hosts'), 'precious\n');
  fs.writeFileSync(path.join(victim, 'hostname'), 'precious\n');
});
afterAll(() => {
  box.cleanup();
  fs.rmSync(victim, { recursive: true, force: true });
});

/** Static busybox and the applets these tests use. */
const busyboxEntries = (): TarEntry[] => [
  { path: 'bin', type: 'dir' },
  { path: 'bin/busybox', body: fs.readFileSync('/bin/busybox'), mode: 0o755 },
  ...['sh', 'cat', 'grep', 'ls', 'ln', 'rm', 'sleep', 'true', 'umount'].map((a): TarEntry => ({
    path: `bin/${a}`,
    type: 'symlink',
    linkpath: 'busybox',
  })),
];

/** A rootfs of static busybox and `extra` entries, imported as `ref`. */
function importImage(ref: string, extra: TarEntry[], changes: string[] = []): void {
  const tar = makeTar([...busyboxEntries(), ...extra]);
  const file = path.join(box.root, `${ref.replace(/[:/]/g, '_')}.tar`);
  fs.writeFileSync(file, tar);
  const r = box.tbox(['import', ...changes.flatMap((c) => ['--change', c]), file, ref]);
  expect(r.stderr).toBe('');
}

describe("an image's environment never reaches a host process", () => {
  it('LD_PRELOAD naming a library in its own layer loads neither at run, exec, start nor a restart policy', async () => {
    const marker = path.join(victim, 'preloaded');
    const src = path.join(box.root, 'evil.c');
    fs.writeFileSync(
      src,
      `#include <stdio.h>\n__attribute__((constructor)) static void hit(void) { FILE *f = fopen("${marker}", "a"); if (f) { fputs("loaded\\n", f); fclose(f); } }\n`,
    );
    const lib = path.join(box.root, 'evil.so');
    expect(run('gcc', ['-shared', '-fPIC', '-o', lib, src]).code).toBe(0);
    // The layer's diff_id is the tar's sha256, so the image knows where its
    // library will sit on the host, as an attacker guessing the data root would.
    const entries: TarEntry[] = [{ path: 'evil.so', body: fs.readFileSync(lib), mode: 0o755 }];
    const probe = makeTar([...busyboxEntries(), ...entries]);
    const hostPath = path.join(box.root, 'images', 'layers', createHash('sha256').update(probe).digest('hex'), 'evil.so');
    importImage('preload:1', entries, [`ENV LD_PRELOAD=${hostPath}`]);
    expect(fs.existsSync(hostPath)).toBe(true);

    const ran = box.tbox(['run', '--rm', 'preload:1', 'sh', '-c', 'echo "$LD_PRELOAD"']);
    expect(ran.stdout).toBe(`${hostPath}\n`);
    expect(box.tbox(['run', '-d', '--name', 'pre', '--restart', 'on-failure:1', 'preload:1', 'sh', '-c', 'sleep 1; exit 1']).code).toBe(0);
    expect(box.tbox(['exec', 'pre', 'sh', '-c', 'echo "$LD_PRELOAD"']).stdout).toBe(`${hostPath}\n`);
    expect(box.tbox(['exec', '-e', `LD_PRELOAD=${hostPath}`, 'pre', 'true']).code).toBe(0);
    // The monitor's exit hook restarts it once (a host `tbox start` with the container's spec).
    const state = () => box.tbox(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}', 'pre']).stdout.trim();
    await eventually(() => state() === 'exited 1 1', 20_000);
    expect(box.tbox(['start', 'pre']).code).toBe(0);
    box.tbox(['rm', '-f', 'pre']);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('mount targets are resolved inside the container root', () => {
  const cases: [string, TarEntry[]][] = [
    ['/etc an absolute symlink out of the root', [{ path: 'etc', type: 'symlink', linkpath: victim }]],
    ['/etc a relative symlink climbing out of the root', [{ path: 'etc', type: 'symlink', linkpath: `../../../../../../../..${victim}` }]],
    [
      '/etc/hosts and /etc/hostname symlinks out of the root',
      [
        { path: 'etc', type: 'dir' },
        { path: 'etc/hosts', type: 'symlink', linkpath: path.join(victim, 'hosts') },
        { path: 'etc/hostname', type: 'symlink', linkpath: `../../../../../..${victim}/hostname` },
      ],
    ],
  ];
  for (const [what, entries] of cases) {
    it(`${what}: followed within the root, the host untouched`, () => {
      const ref = `symlinked:${cases.findIndex((c) => c[0] === what)}`;
      importImage(ref, entries);
      const before = treeSnapshot(victim);
      const r = box.tbox(['run', '--rm', '--hostname', 'inside', ref, 'sh', '-c', 'cat /etc/hostname; grep -c localhost /etc/hosts']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^inside\n[1-9]\n$/);
      expect(treeSnapshot(victim)).toEqual(before);
    });
  }

  it('a symlinked /proc or /dev is refused with one line, and nothing is mounted on the host', () => {
    for (const [i, dir] of ['proc', 'dev', 'sys'].entries()) {
      importImage(`badmount:${i}`, [{ path: dir, type: 'symlink', linkpath: victim }]);
      const before = treeSnapshot(victim);
      const r = box.tbox(['run', '--rm', `badmount:${i}`, 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`tbox: mount target /${dir} in the container: a symlink, which tbox does not mount over\n`);
      expect(treeSnapshot(victim)).toEqual(before);
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(victim);
    }
    expect(box.tbox(['ps', '-a', '-q']).stdout).toBe('');
  });

  it('a container that replaces its own /etc with a symlink out of the root cannot reach the host on its next start', () => {
    importImage('plain:1', [
      { path: 'etc', type: 'dir' },
      { path: 'tmp', type: 'dir' },
    ]);
    const before = treeSnapshot(victim);
    // With CAP_SYS_ADMIN, root in a container may unmount its /etc binds and plant a link.
    const plant = `umount /etc/hosts /etc/hostname /etc/resolv.conf && rm -rf /etc && ln -s ${victim} /etc && ls -ld /etc`;
    const first = box.tbox([
      'run',
      '--name',
      'planter',
      '--cap-add',
      'SYS_ADMIN',
      '--security-opt',
      'seccomp=unconfined',
      'plain:1',
      'sh',
      '-c',
      plant,
    ]);
    expect(first.stdout).toContain(`/etc -> ${victim}`);
    const again = box.tbox(['start', 'planter']);
    expect(again.stderr).toBe('');
    expect(box.tbox(['wait', 'planter']).stdout).toBe('0\n');
    expect(treeSnapshot(victim)).toEqual(before);
    box.tbox(['rm', 'planter']);
  });

  it('a volume, a host bind and a tmpfs whose target runs through a symlink to / or ../../.. land inside the root (CVE-2021-30465 class)', () => {
    importImage('evilmount:1', [
      { path: 'data', type: 'symlink', linkpath: '/' },
      { path: 'up', type: 'symlink', linkpath: '../../../../../../../..' },
      { path: 'inside-marker', body: Buffer.from('inside\n') },
    ]);
    const hostDir = fs.mkdtempSync(path.join(box.root, 'bindsrc-'));
    fs.writeFileSync(path.join(hostDir, 'f'), 'bound\n');
    const before = treeSnapshot(victim);
    const r = box.tbox([
      'run', '--rm',
      '-v', `evilvol:/data${victim}/vol`,
      '-v', `${hostDir}:/up${victim}/bind`,
      '--tmpfs', `/data${victim}/tmp`,
      'evilmount:1', 'sh', '-c', `cat /inside-marker ${victim}/bind/f; ls ${victim}`,
    ]); // prettier-ignore
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('inside\nbound\nbind\ntmp\nvol\n');
    expect(treeSnapshot(victim)).toEqual(before);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(victim);
    // the volume was filled from the container's files at its target (none), not the host's
    const seeded = JSON.parse(box.tbox(['volume', 'inspect', 'evilvol']).stdout)[0].Mountpoint;
    expect(fs.readdirSync(seeded)).toEqual([]);
    // a target that resolves to the container's root is refused, as Docker refuses "/"
    const onRoot = box.tbox(['run', '--rm', '-v', 'rootvol:/data', 'evilmount:1', 'true']);
    expect(onRoot.code).toBe(125);
    expect(onRoot.stderr).toBe('tbox: mount target /data in the container resolves to its root directory\n');
    expect(box.tbox(['ps', '-aq']).stdout).toBe('');
    expect(treeSnapshot(victim)).toEqual(before);
  });
});
