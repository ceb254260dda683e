/**
 * Real registry components for the image tests, on loopback only: Debian's
 * docker-registry (the CNCF distribution server) with storage in a temp dir,
 * images written as OCI layouts and pushed with skopeo, and a small proxy in
 * front for what a plain registry won't do on demand (token or basic auth, a
 * tampered blob, a connection cut mid-layer).
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { repoDir, run } from './helpers.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

export interface Registry {
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-test-registry-'));
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dir}/data`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  await waitFor(`http://127.0.0.1:${port}/v2/`);
  return {
    host: `127.0.0.1:${port}`,
    dir,
    async stop() {
      const exited = new Promise((r) => proc.on('exit', r));
      proc.kill();
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export interface LayerSpec {
  /** an uncompressed tar */
  tar: Buffer;
}

/** Write an OCI image layout with these layers (gzipped) and config, tagged `tag`. */
export function writeOciLayout(dir: string, layers: Buffer[], config: Record<string, unknown>, tag = 'latest'): { manifestDigest: string } {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer | string) => {
    const hex = sha(data);
    fs.writeFileSync(path.join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
  };
  const gz = layers.map((t) => zlib.gzipSync(t));
  const cfg = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-01T00:00:00Z',
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((t) => `sha256:${sha(t)}`) },
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(cfg) },
    layers: gz.map((g) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(g) })),
  });
  const m = put(manifest);
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } },
      ],
    }),
  );
  return { manifestDigest: m.digest };
}

export function skopeo(args: string[]): void {
  const r = run('skopeo', ['--insecure-policy', ...args], { timeout: 120_000 });
  if (r.code !== 0) throw new Error(`skopeo ${args.join(' ')}: ${r.stderr}`);
}

/** Push an OCI layout to the registry as NAME:TAG. */
export function push(layout: string, registry: string, nameTag: string, layoutTag = 'latest'): void {
  skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:${layoutTag}`, `docker://${registry}/${nameTag}`]);
}

/** tbox's busybox rootfs as an uncompressed tar, from its own recipe. */
export function busyboxTar(): Buffer {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-test-bb-')), 'rootfs.tar');
  const r = run('sh', [path.join(repoDir, 'images', 'busybox', 'recipe.sh'), out]);
  if (r.code !== 0) throw new Error(r.stderr);
  const tar = fs.readFileSync(out);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return tar;
}

export type ProxyMode = 'pass' | 'token' | 'basic' | 'tamper' | 'cut';

export interface Proxy {
  host: string;
  mode: ProxyMode;
  /** requests seen, as "METHOD path range?" */
  seen: string[];
  tokensIssued: number;
  stop(): Promise<void>;
}

/**
 * A proxy in front of the registry. token: demands a bearer token from its
 * own /token endpoint. tamper: flips a byte in every layer blob. cut: sends
 * half of the first large blob, then drops the connection.
 */
export async function startProxy(upstream: string, mode: ProxyMode): Promise<Proxy> {
  const port = await freePort();
  const state: Proxy = { host: `127.0.0.1:${port}`, mode, seen: [], tokensIssued: 0, stop: async () => {} };
  let cutDone = false;
  const server = http.createServer((req, res) => {
    state.seen.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    if (req.url?.startsWith('/token')) {
      state.tokensIssued++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'test-token-1' }));
      return;
    }
    if (state.mode === 'basic' && req.headers.authorization !== `Basic ${Buffer.from('tester:s3cret').toString('base64')}`) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="tbox-test"' }).end();
      return;
    }
    if (state.mode === 'token' && req.headers.authorization !== 'Bearer test-token-1') {
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${state.host}/token",service="tbox-test",scope="repository:${/^\/v2\/(.+?)\/(?:manifests|blobs)\//.exec(req.url ?? '')?.[1]}:pull"`,
          'content-type': 'application/json',
        })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const headers = { ...req.headers, host: upstream };
    delete headers.authorization;
    const up = http.request(
      { host: upstream.split(':')[0], port: Number(upstream.split(':')[1]), path: req.url, method: req.method, headers },
      (upRes) => {
        const isBlob = /\/blobs\/sha256:/.test(req.url ?? '') && Number(upRes.headers['content-length'] ?? 0) > 100_000;
        if (isBlob && state.mode === 'tamper') {
          const chunks: Buffer[] = [];
          upRes.on('data', (c: Buffer) => chunks.push(c));
          upRes.on('end', () => {
            const body = Buffer.concat(chunks);
            const mid = body.length >> 1;
            body[mid] = body[mid]! ^ 0xff;
            res.writeHead(upRes.statusCode!, upRes.headers).end(body);
          });
          return;
        }
        if (isBlob && state.mode === 'cut' && !cutDone) {
          cutDone = true;
          const half = Number(upRes.headers['content-length']) >> 1;
          let sent = 0;
          res.writeHead(upRes.statusCode!, upRes.headers);
          upRes.on('data', (c: Buffer) => {
            if (sent >= half) return;
            res.write(c.subarray(0, Math.min(c.length, half - sent)));
            sent += c.length;
            if (sent >= half) {
              upRes.destroy();
              res.socket?.destroy();
            }
          });
          return;
        }
        res.writeHead(upRes.statusCode!, upRes.headers);
        upRes.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  state.stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
