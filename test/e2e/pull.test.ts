/**
 * Pulling and loading images against a real registry on 127.0.0.1, never the
 * internet: docker.io itself is pointed at a closed local port.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, run, type Sandbox } from '../helpers.js';
import { makeTar } from '../tar-writer.js';
import { busyboxTar, push, skopeo, startProxy, startRegistry, writeOciLayout, type Registry } from '../registry.js';

let box: Sandbox;
let registry: Registry;
let work: string;
let bbTar: Buffer;

const busyboxConfig = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] };
/** Incompressible, so its gzipped layer is big enough to cut or tamper with mid-way. */
const randomText = (n: number) => randomBytes(n / 2).toString('hex');
const layersInStore = () =>
  fs
    .readdirSync(path.join(box.root, 'images', 'layers'))
    .filter((d) => !d.startsWith('.'))
    .sort();

beforeAll(async () => {
  box = makeSandbox();
  registry = await startRegistry();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-test-images-'));
  bbTar = busyboxTar();
  // one layer: tbox's busybox rootfs, with a config like a real image's
  writeOciLayout(path.join(work, 'bb'), [bbTar], {
    ...busyboxConfig,
    WorkingDir: '/srv',
    Env: [...busyboxConfig.Env, 'FROM_IMAGE=yes'],
    ExposedPorts: { '80/tcp': {} },
  });
  push(path.join(work, 'bb'), registry.host, 'test/bb:1');
});

afterAll(async () => {
  box.cleanup();
  await registry.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('tbox pull', () => {
  it('pulls from a registry, shows progress, and runs with the image config', () => {
    const r = box.tbox(['pull', `${registry.host}/test/bb:1`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1: Pulling from 127\.0\.0\.1:\d+\/test\/bb\n/);
    expect(r.stdout).toMatch(/[0-9a-f]{12}: Pulling fs layer\n/);
    expect(r.stdout).toMatch(/[0-9a-f]{12}: Pull complete\n/);
    expect(r.stdout).toMatch(/Digest: sha256:[0-9a-f]{64}\nStatus: Downloaded newer image for 127\.0\.0\.1:\d+\/test\/bb:1\n/);
    const out = box.tbox(['run', '--rm', `${registry.host}/test/bb:1`, 'sh', '-c', 'echo $FROM_IMAGE $(pwd)']);
    expect(out.stdout).toBe('yes /srv\n');
    const [info] = JSON.parse(box.tbox(['inspect', `${registry.host}/test/bb:1`]).stdout);
    expect(info.Config.ExposedPorts).toEqual({ '80/tcp': {} });
    expect(box.tbox(['images', '--format', '{{.Repository}}:{{.Tag}}']).stdout).toContain(`${registry.host}/test/bb:1\n`);
  });

  it('does not download layers the store already has; a re-pull fetches only the manifest', () => {
    const again = box.tbox(['pull', `${registry.host}/test/bb:1`]);
    expect(again.stdout).not.toMatch(/Pulling fs layer|Already exists/);
    expect(again.stdout).toMatch(/Digest: sha256:[0-9a-f]{64}\nStatus: Image is up to date/);
    // the same layers under another name: each is already in the store
    push(path.join(work, 'bb'), registry.host, 'test/bbcopy:1');
    const copy = box.tbox(['pull', `${registry.host}/test/bbcopy:1`]);
    expect(copy.stdout).toMatch(/[0-9a-f]{12}: Already exists\n/);
    expect(copy.stdout).not.toMatch(/Pulling fs layer/);
  });

  it('run pulls a missing image first, as docker run does', () => {
    push(path.join(work, 'bb'), registry.host, 'test/bb:auto');
    const r = box.tbox(['run', '--rm', `${registry.host}/test/bb:auto`, 'echo', 'ran']);
    expect(r.stdout).toBe('ran\n');
    expect(r.stderr).toMatch(/Unable to find image '.*test\/bb:auto' locally/);
  });

  it('pulls by digest and checks it', () => {
    const digest = JSON.parse(run('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/test/bb:1`]).stdout).Digest;
    const r = box.tbox(['pull', `${registry.host}/test/bb@${digest}`]);
    expect(r.code).toBe(0);
    expect(box.tbox(['run', '--rm', `${registry.host}/test/bb@${digest}`, 'true']).code).toBe(0);
  });

  it('applies whiteouts across five layers: deleted files and opaque directories', () => {
    const layers = [
      bbTar,
      makeTar([
        { path: 'data/', type: 'dir' },
        { path: 'data/old', body: 'old\n' },
        { path: 'data/keep/', type: 'dir' },
        { path: 'etc/layer2', body: '2\n' },
      ]),
      makeTar([
        { path: 'bin/.wh.vi', body: '' },
        { path: 'etc/layer3', body: '3\n' },
      ]),
      makeTar([
        { path: 'data/', type: 'dir' },
        { path: 'data/.wh..wh..opq', body: '' },
        { path: 'data/new', body: 'new\n' },
      ]),
      makeTar([
        { path: 'etc/.wh.layer2', body: '' },
        { path: 'etc/layer5', body: '5\n' },
      ]),
    ];
    writeOciLayout(path.join(work, 'five'), layers, busyboxConfig);
    push(path.join(work, 'five'), registry.host, 'test/five:1');
    expect(box.tbox(['pull', `${registry.host}/test/five:1`]).code).toBe(0);
    const r = box.tbox([
      'run',
      '--rm',
      `${registry.host}/test/five:1`,
      'sh',
      '-c',
      'ls /data; ls /etc | grep layer; test -e /bin/vi || echo no-vi; test -e /bin/ls && echo has-ls',
    ]);
    expect(r.stdout).toBe('new\nlayer3\nlayer5\nno-vi\nhas-ls\n');
  });

  it('chooses linux/amd64 from a manifest list', async () => {
    const manifest = await fetch(`http://${registry.host}/v2/test/bb/manifests/1`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const digest = manifest.headers.get('docker-content-digest')!;
    const size = Number(manifest.headers.get('content-length'));
    await manifest.body?.cancel();
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size, platform: { os: 'linux', architecture: 'arm64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    });
    const put = await fetch(`http://${registry.host}/v2/test/bb/manifests/multi`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
      body: index,
    });
    expect(put.status).toBe(201);
    const r = box.tbox(['pull', `${registry.host}/test/bb:multi`]);
    expect(r.stderr).toBe('');
    expect(box.tbox(['run', '--rm', `${registry.host}/test/bb:multi`, 'echo', 'multi']).stdout).toBe('multi\n');
  });

  it('gets an anonymous bearer token when the registry asks for one', async () => {
    const proxy = await startProxy(registry.host, 'token');
    try {
      const r = await box.tboxAsync(['pull', `${proxy.host}/test/bb:1`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(proxy.tokensIssued).toBeGreaterThan(0);
      expect(proxy.seen.some((s) => s.startsWith('GET /token?service=tbox-test&scope=repository%3Atest%2Fbb%3Apull'))).toBe(true);
    } finally {
      await proxy.stop();
    }
  });

  it('uses basic credentials from ~/.docker/config.json when the registry wants them', async () => {
    const proxy = await startProxy(registry.host, 'basic');
    const dockerConfig = path.join(work, 'docker-config');
    fs.mkdirSync(dockerConfig, { recursive: true });
    try {
      const denied = await box.tboxAsync(['pull', `${proxy.host}/test/bb:1`], { DOCKER_CONFIG: dockerConfig });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toMatch(/wants a login: add credentials to ~\/\.docker\/config\.json/);
      const auth = Buffer.from('tester:s3cret').toString('base64');
      fs.writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [proxy.host]: { auth } } }));
      const r = await box.tboxAsync(['pull', `${proxy.host}/test/bb:1`], { DOCKER_CONFIG: dockerConfig });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    } finally {
      await proxy.stop();
    }
  });

  it('pulls Docker Hub names through TBOX_REGISTRY_MIRROR, as registry-mirrors does', () => {
    const r = box.tbox(['pull', 'test/bb:1'], { env: { TBOX_REGISTRY_MIRROR: `http://${registry.host}` } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/Status: .* for test\/bb:1\ndocker\.io\/test\/bb:1\n$/);
    expect(box.tbox(['images', '--format', '{{.Repository}}:{{.Tag}}']).stdout).toContain('test/bb:1\n');
    // Without the mirror the same name goes to Docker Hub, here a closed port.
    expect(box.tbox(['pull', 'test/bb:2']).stderr).toMatch(/cannot reach registry 127\.0\.0\.1:9/);
  });

  it('refuses a tampered blob and keeps nothing of it', async () => {
    writeOciLayout(path.join(work, 'other'), [bbTar, makeTar([{ path: 'tampered', body: randomText(300_000) }])], busyboxConfig);
    push(path.join(work, 'other'), registry.host, 'test/other:1');
    const proxy = await startProxy(registry.host, 'tamper');
    const before = layersInStore();
    try {
      const r = await box.tboxAsync(['pull', `${proxy.host}/test/other:1`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^tbox: digest mismatch for blob sha256:[0-9a-f]{64}: refusing it\n$/);
      expect(layersInStore()).toEqual(before);
      expect(box.tbox(['images', '--format', '{{.Repository}}']).stdout).not.toContain('other');
    } finally {
      await proxy.stop();
    }
  });

  it('survives a pull cut mid-layer: no half layer is used, and the next pull resumes', async () => {
    writeOciLayout(path.join(work, 'cut'), [bbTar, makeTar([{ path: 'big', body: randomText(400_000) }])], busyboxConfig);
    push(path.join(work, 'cut'), registry.host, 'test/cut:1');
    const proxy = await startProxy(registry.host, 'cut');
    const before = layersInStore();
    try {
      const first = await box.tboxAsync(['pull', `${proxy.host}/test/cut:1`]);
      expect(first.code).toBe(1);
      expect(first.stderr).toMatch(/interrupted .*run the pull again to resume/);
      expect(layersInStore()).toEqual(before);
      expect(box.tbox(['run', '--rm', '--pull', 'never', `${proxy.host}/test/cut:1`, 'true']).code).toBe(125);

      const second = await box.tboxAsync(['pull', `${proxy.host}/test/cut:1`]);
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
      expect(proxy.seen.some((s) => /GET \/v2\/test\/cut\/blobs\/sha256:[0-9a-f]+ bytes=\d+-/.test(s))).toBe(true);
      expect((await box.tboxAsync(['run', '--rm', `${proxy.host}/test/cut:1`, 'sh', '-c', 'wc -c < /big'])).stdout.trim()).toBe('400000');
    } finally {
      await proxy.stop();
    }
  });

  it('fails cleanly for a missing image or an unreachable registry', () => {
    const missing = box.tbox(['pull', `${registry.host}/test/nosuch:1`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/manifest for test\/nosuch:1 not found|denied/);
    const hub = box.tbox(['run', '--rm', 'alpine', 'true']);
    expect(hub.code).toBe(125);
    expect(hub.stderr).toMatch(/cannot reach registry 127\.0\.0\.1:9/);
  });
});

describe('tbox push', () => {
  it('pushes a committed image that pulls back into a fresh root and that skopeo reads; a second push sends no layer again', () => {
    box.tbox(['run', '--name', 'topush', '--network', 'none', 'busybox', 'sh', '-c', 'echo pushed > /made']);
    const name = `${registry.host}/test/pushed:1`;
    expect(box.tbox(['commit', '--change', 'CMD ["cat", "/made"]', 'topush', name]).code).toBe(0);
    box.tbox(['rm', 'topush']);
    const pushed = box.tbox(['push', name]);
    expect(pushed.stderr).toBe('');
    expect(pushed.stdout).toMatch(
      /^The push refers to repository \[127\.0\.0\.1:\d+\/test\/pushed\]\n(?:[0-9a-f]{12}: Pushed\n){2}1: digest: sha256:[0-9a-f]{64} size: \d+\n$/,
    );
    expect(box.tbox(['push', name]).stdout).toMatch(/(?:[0-9a-f]{12}: Layer already exists\n){2}/);
    const inspected = run('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`]);
    expect(JSON.parse(inspected.stdout).Layers).toHaveLength(2);
    const fresh = makeSandbox();
    try {
      expect(fresh.tbox(['pull', name]).code).toBe(0);
      expect(fresh.tbox(['run', '--rm', '--network', 'none', name]).stdout).toBe('pushed\n');
    } finally {
      fresh.cleanup();
    }
    const missing = box.tbox(['push', `${registry.host}/test/never:1`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^tbox: An image does not exist locally/);
  });
});

describe('tbox load', () => {
  it('loads an OCI layout written by skopeo, as a directory and as a tar', () => {
    const layout = path.join(work, 'skopeo-layout');
    skopeo(['copy', '--src-tls-verify=false', `docker://${registry.host}/test/five:1`, `oci:${layout}:localhost/loaded:v1`]);
    const r = box.tbox(['load', '-i', layout]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Loaded image: localhost/loaded:v1\n');
    expect(box.tbox(['run', '--rm', 'localhost/loaded:v1', 'cat', '/etc/layer5']).stdout).toBe('5\n');
    const tarFile = path.join(work, 'layout.tar');
    expect(run('tar', ['-cf', tarFile, '-C', layout, '.']).code).toBe(0);
    box.tbox(['rmi', 'localhost/loaded:v1']);
    expect(box.tbox(['load', '-i', tarFile]).stdout).toBe('Loaded image: localhost/loaded:v1\n');
  });

  it('loads a docker save archive', () => {
    const archive = path.join(work, 'saved.tar');
    skopeo(['copy', '--src-tls-verify=false', `docker://${registry.host}/test/bb:1`, `docker-archive:${archive}:saved/image:v2`]);
    const r = box.tbox(['load', '-i', archive]);
    expect(r.stdout).toBe('Loaded image: saved/image:v2\n');
    expect(box.tbox(['run', '--rm', 'saved/image:v2', 'sh', '-c', 'echo $FROM_IMAGE']).stdout).toBe('yes\n');
  });

  it('refuses an archive whose paths point outside it', () => {
    const evil = path.join(work, 'evil');
    fs.mkdirSync(evil);
    fs.symlinkSync('/etc', path.join(evil, 'blobs'));
    fs.writeFileSync(path.join(evil, 'index.json'), JSON.stringify({ manifests: [{ digest: `sha256:${'a'.repeat(64)}` }] }));
    const r = box.tbox(['load', '-i', evil]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/points outside it/);
  });
});

describe('tag, rmi, prune', () => {
  it('tags, untags, and prunes unused images', () => {
    expect(box.tbox(['tag', `${registry.host}/test/bb:1`, 'mine:latest']).code).toBe(0);
    expect(box.tbox(['images', '--format', '{{.Repository}}:{{.Tag}}']).stdout).toContain('mine:latest\n');
    expect(box.tbox(['rmi', 'mine']).stdout).toBe('Untagged: mine:latest\n');
    const pruned = box.tbox(['image', 'prune', '-a', '-f']);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/deleted: sha256:/);
    expect(box.tbox(['images', '-q']).stdout).toBe('');
    expect(layersInStore()).toEqual([]);
  });
});
