/**
 * A registry that lies: a fake one written here (plain Node HTTP on
 * loopback) serves what a real registry never would. tbox must refuse each
 * with one line, write nothing outside its data root, and keep no partial
 * download that is not a prefix of what it asked for.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, treeSnapshot, type Sandbox } from '../helpers.js';
import { makeTar } from '../tar-writer.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Served {
  type?: string;
  body?: Buffer | string;
  /** Send the body one byte per interval, as a stalling registry does. */
  trickleMs?: number;
  /** Claim this content length (a lie about the size). */
  length?: number;
}

let box: Sandbox;
let server: http.Server;
let host: string;
const routes = new Map<string, Served>();
const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-test-outside-'));

beforeAll(async () => {
  box = makeSandbox();
  server = http.createServer((req, res) => {
    const route = routes.get(req.url ?? '');
    if (req.url === '/v2/') return void res.writeHead(200).end('{}');
    if (!route) return void res.writeHead(404).end();
    const body = Buffer.from(route.body ?? '');
    res.writeHead(200, {
      'content-type': route.type ?? 'application/octet-stream',
      ...(route.length !== undefined ? { 'content-length': String(route.length) } : {}),
    });
    if (!route.trickleMs) return void res.end(body);
    let i = 0;
    const timer = setInterval(() => {
      if (i >= body.length || res.destroyed) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(body.subarray(i, ++i));
    }, route.trickleMs);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  box.cleanup();
  fs.rmSync(outside, { recursive: true, force: true });
});

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const layerTar = makeTar([{ path: 'hello', body: 'hi\n' }]);
const layerGz = zlib.gzipSync(layerTar);
const config = (diffIds: string[]) =>
  JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } });

/** Serve an image `name:1` whose manifest and blobs are as given (blobs keyed by digest). */
function serve(name: string, manifest: object | string, blobs: Record<string, Served> = {}): void {
  routes.set(`/v2/${name}/manifests/1`, { type: MANIFEST, body: typeof manifest === 'string' ? manifest : JSON.stringify(manifest) });
  for (const [digest, served] of Object.entries(blobs)) routes.set(`/v2/${name}/blobs/${digest}`, served);
}

function manifestOf(cfg: string, layers: { digest: string; size: number }[]) {
  return {
    schemaVersion: 2,
    mediaType: MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(cfg), size: cfg.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
  };
}

function pull(name: string, env: NodeJS.ProcessEnv = {}) {
  return box.tboxAsync(['pull', `${host}/${name}:1`], env);
}

const downloads = () =>
  fs.existsSync(path.join(box.root, 'images', 'downloads')) ? fs.readdirSync(path.join(box.root, 'images', 'downloads')) : [];

describe('a lying registry', () => {
  it('a traversal digest in a manifest is refused before it names any file', async () => {
    const cfg = config([sha(layerTar)]);
    const evil = `sha256:../../../../../../..${outside}/planted`;
    serve('trav', manifestOf(cfg, [{ digest: evil, size: layerGz.length }]), { [sha(cfg)]: { body: cfg } });
    routes.set(`/v2/trav/blobs/${evil}`, { body: layerGz });
    const before = treeSnapshot(outside);
    const r = await pull('trav');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^tbox: manifest for trav:1: layers\[0\]: invalid digest "sha256:\.\.\/.*\(expected sha256:<64 hex> or sha512:<128 hex>\)\n$/,
    );
    expect(treeSnapshot(outside)).toEqual(before);
    expect(downloads()).toEqual([]);
  });

  it('a traversal diff_id in the image config is refused too', async () => {
    const cfg = config([`sha256:../../../../..${outside}/x`]);
    serve('travcfg', manifestOf(cfg, [{ digest: sha(layerGz), size: layerGz.length }]), {
      [sha(cfg)]: { body: cfg },
      [sha(layerGz)]: { body: layerGz },
    });
    const r = await pull('travcfg');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tbox: image config rootfs.diff_ids\[0\]: invalid digest/);
    expect(treeSnapshot(outside)).toEqual({});
  });

  it('a blob larger than its descriptor stops at the descriptor size and keeps nothing', async () => {
    const big = Buffer.concat([layerGz, Buffer.alloc(8 * 1024 * 1024, 7)]);
    const cfg = config([sha(layerTar)]);
    // Announced with a Content-Length: refused before a byte is written.
    serve('oversize', manifestOf(cfg, [{ digest: sha(layerGz), size: layerGz.length }]), {
      [sha(cfg)]: { body: cfg },
      [sha(layerGz)]: { body: big, length: big.length },
    });
    const announced = await pull('oversize');
    expect(announced.code).toBe(1);
    expect(announced.stderr).toMatch(
      /^tbox: layer [0-9a-f]{12}: the registry offers \d+ bytes, more than the \d+ expected: refusing it\n$/,
    );
    // Chunked, with no length: counted as it arrives, and cut at the descriptor's size.
    routes.set(`/v2/oversize/blobs/${sha(layerGz)}`, { body: big });
    const streamed = await pull('oversize');
    expect(streamed.code).toBe(1);
    expect(streamed.stderr).toMatch(/^tbox: layer [0-9a-f]{12}: the registry sent more than the \d+ bytes expected: refusing it\n$/);
    expect(downloads()).toEqual([]);
  });

  it('a manifest over 4 MiB is refused without being read into memory', async () => {
    const huge = JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, padding: 'x'.repeat(10 * 1024 * 1024) });
    serve('hugemanifest', huge);
    const r = await pull('hugemanifest');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('tbox: manifest for hugemanifest:1: the registry sent more than the 4194304 bytes expected: refusing it\n');
  });

  it('a registry that trickles a byte at a time is given up on, and the partial kept is a valid prefix', async () => {
    const cfg = config([sha(layerTar)]);
    serve('trickle', manifestOf(cfg, [{ digest: sha(layerGz), size: layerGz.length }]), {
      [sha(cfg)]: { body: cfg },
      [sha(layerGz)]: { body: layerGz, trickleMs: 400 },
    });
    const started = Date.now();
    const r = await pull('trickle', { TBOX_PULL_TIMEOUT: '2' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /interrupted after \d+ of \d+ bytes \(layer [0-9a-f]{12}: the registry sent \d+ bytes in 2 s, giving up\): run the pull again to resume\n$/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    const [partial] = downloads();
    const kept = fs.readFileSync(path.join(box.root, 'images', 'downloads', partial!));
    expect(kept.length).toBeLessThan(layerGz.length);
    expect(layerGz.subarray(0, kept.length).equals(kept)).toBe(true);
    // prune forgets idle partials
    fs.utimesSync(path.join(box.root, 'images', 'downloads', partial!), new Date(0), new Date(0));
    expect(box.tbox(['image', 'prune', '-f']).code).toBe(0);
    expect(downloads()).toEqual([]);
  });

  it('a manifest of an unknown media type, or a layer of one, is refused by name', async () => {
    serve('weird', { schemaVersion: 2, mediaType: 'application/x-evil' });
    expect((await pull('weird')).stderr).toMatch(/unsupported media type "application\/x-evil"/);
    const cfg = config([sha(layerTar)]);
    const m = manifestOf(cfg, [{ digest: sha(layerGz), size: layerGz.length }]);
    m.layers[0]!.mediaType = 'text/html';
    serve('weirdlayer', m);
    expect((await pull('weirdlayer')).stderr).toMatch(/layers\[0\]: unsupported media type "text\/html"/);
  });
});
