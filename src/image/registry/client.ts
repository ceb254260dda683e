/**
 * A client for the OCI distribution API (Docker Registry HTTP API v2): the
 * calls a pull needs, the anonymous bearer-token dance, basic auth from
 * ~/.docker/config.json, plain http only where allowed, and a mirror for
 * docker.io as Docker's registry-mirrors works.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TboxError } from '../../errors.js';
import { DOCKER_HUB } from '../reference.js';
import { request, type HttpResponse } from './http.js';

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export class RegistryError extends TboxError {}

/** Manifests (and configs) above this are refused, as containerd does. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** The progress rule: each window must bring this much, or the transfer ends. */
const MIN_BYTES_PER_WINDOW = 1024;
/** 30 s, or TBOX_PULL_TIMEOUT seconds (tests use a short one). */
const windowMs = () => (Number(process.env.TBOX_PULL_TIMEOUT) > 0 ? Number(process.env.TBOX_PULL_TIMEOUT) : 30) * 1000;

/**
 * A registry that stalls or trickles must not hang `tbox pull` forever: from
 * the request on, every window of windowMs() must bring MIN_BYTES_PER_WINDOW
 * (or the end), else the request is aborted. That covers both a silent peer
 * (no byte for 30 s) and one sending a byte every 20 s.
 */
class Watchdog {
  readonly controller = new AbortController();
  reason: string | undefined;
  private bytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(what: string) {
    const ms = windowMs();
    this.timer = setInterval(() => {
      if (this.bytes < MIN_BYTES_PER_WINDOW) {
        this.reason = `${what}: the registry sent ${this.bytes} bytes in ${ms / 1000} s, giving up`;
        this.controller.abort();
      }
      this.bytes = 0;
    }, ms);
  }

  saw(n: number): void {
    this.bytes += n;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A registry response whose body is bounded in size and time. */
export interface BoundedResponse {
  status: number;
  headers: HttpResponse['headers'];
  /** The body in chunks; throws RegistryError past maxBytes or when the registry stalls. */
  body: AsyncIterable<Uint8Array>;
  cancel(): Promise<void>;
}

/** Where docker.io's API lives; TBOX_HUB_REGISTRY points it elsewhere (the tests point it nowhere). */
const hubHost = () => process.env.TBOX_HUB_REGISTRY || 'registry-1.docker.io';

function isInsecure(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (name === 'localhost' || name === '::1' || /^127\./.test(name)) return true;
  return (process.env.TBOX_INSECURE_REGISTRIES ?? '')
    .split(',')
    .map((h) => h.trim())
    .includes(host);
}

/** Base URLs to try for a registry domain, mirror first. */
export function endpointsFor(domain: string): string[] {
  const host = domain === DOCKER_HUB ? hubHost() : domain;
  const own = `${isInsecure(host) ? 'http' : 'https'}://${host}`;
  const mirror = process.env.TBOX_REGISTRY_MIRROR?.replace(/\/+$/, '');
  return domain === DOCKER_HUB && mirror ? [mirror, own] : [own];
}

function dockerConfigAuth(host: string): string | undefined {
  try {
    const file = path.join(process.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
    const auths = (JSON.parse(fs.readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> }).auths ?? {};
    const key = Object.keys(auths).find((k) => k.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === host);
    return key ? auths[key]!.auth : undefined;
  } catch {
    return undefined;
  }
}

/** Parse `Bearer realm="...",service="...",scope="..."`. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return { scheme, params };
}

async function readCapped(res: HttpResponse, max: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > max) {
      await res.body?.cancel().catch(() => {});
      throw new RegistryError(`${what} is larger than ${max} bytes: refusing it`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class RegistryClient {
  private authorization: string | undefined;

  constructor(
    readonly base: string,
    readonly repository: string,
    /** what the token asks to do: pull, or pull,push for tbox push */
    private readonly actions = 'pull',
  ) {}

  private get host(): string {
    return new URL(this.base).host;
  }

  /**
   * GET whose body may be at most maxBytes and must keep coming (Watchdog).
   * The size is checked against Content-Length first and counted as it
   * arrives, so an endless body stops at the limit, not at a full disk.
   */
  async getBounded(pathname: string, maxBytes: number, what: string, headers: Record<string, string> = {}): Promise<BoundedResponse> {
    const dog = new Watchdog(what);
    let res: HttpResponse;
    try {
      res = await this.get(pathname, headers, dog.controller.signal);
    } catch (err) {
      dog.stop();
      throw dog.reason ? new RegistryError(dog.reason) : err;
    }
    const length = Number(res.headers.get('content-length') ?? NaN);
    if (res.ok && length > maxBytes) {
      dog.stop();
      await res.body?.cancel().catch(() => {});
      throw new RegistryError(`${what}: the registry offers ${length} bytes, more than the ${maxBytes} expected: refusing it`);
    }
    const host = this.host;
    async function* body(): AsyncGenerator<Uint8Array> {
      let total = 0;
      try {
        for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
          total += chunk.length;
          if (total > maxBytes) throw new RegistryError(`${what}: the registry sent more than the ${maxBytes} bytes expected: refusing it`);
          dog.saw(chunk.length);
          yield chunk;
        }
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        throw new RegistryError(dog.reason ?? `connection to ${host} broke: ${(err as Error).message}`);
      } finally {
        dog.stop();
        await res.body?.cancel().catch(() => {});
      }
    }
    return {
      status: res.status,
      headers: res.headers,
      body: body(),
      cancel: async () => {
        dog.stop();
        await res.body?.cancel().catch(() => {});
      },
    };
  }

  /** GET with auth: on a 401 challenge, get a token (or use basic credentials) and retry once. */
  get(pathname: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<HttpResponse> {
    return this.request('GET', pathname, { headers, signal });
  }

  /**
   * Any method with auth. `target` is a path below /v2/<repository>/, or an
   * upload Location the registry gave (on this registry's host only: a
   * Location elsewhere would carry our credentials away).
   */
  async request(
    method: string,
    target: string,
    init: { headers?: Record<string, string>; body?: Blob | string; signal?: AbortSignal } = {},
  ): Promise<HttpResponse> {
    const url = /^https?:/.test(target)
      ? target
      : target.startsWith('/')
        ? `${this.base}${target}`
        : `${this.base}/v2/${this.repository}/${target}`;
    if (new URL(url).host !== this.host)
      throw new RegistryError(`${this.host} sent an upload location on another host: ${new URL(url).host}`);
    const attempt = () =>
      request(url, {
        method,
        body: init.body,
        headers: { ...init.headers, ...(this.authorization ? { Authorization: this.authorization } : {}) },
        redirect: method === 'GET' || method === 'HEAD' ? 'follow' : 'manual',
        signal: init.signal,
      });
    let res = await this.send(attempt);
    if (res.status === 401 && !this.authorization) {
      await res.body?.cancel();
      await this.authenticate(res.headers.get('www-authenticate') ?? '', init.signal);
      res = await this.send(attempt);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new RegistryError(
        `${this.host}: access to ${this.repository} denied (${res.status}): the image may not exist, or may need credentials in ~/.docker/config.json`,
      );
    }
    return res;
  }

  private async send(attempt: () => Promise<HttpResponse>): Promise<HttpResponse> {
    try {
      return await attempt();
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const e = err as { code?: string; message?: string };
      throw new RegistryError(`cannot reach registry ${this.host}: ${e.code ?? e.message}`);
    }
  }

  private async authenticate(challenge: string, signal?: AbortSignal): Promise<void> {
    const { scheme, params } = parseChallenge(challenge);
    const basic = dockerConfigAuth(this.host);
    if (scheme === 'basic') {
      if (!basic) throw new RegistryError(`${this.host} wants a login: add credentials to ~/.docker/config.json`);
      this.authorization = `Basic ${basic}`;
      return;
    }
    if (scheme !== 'bearer' || !params.realm) throw new RegistryError(`${this.host}: unsupported auth challenge "${challenge}"`);
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${this.repository}:${this.actions}`);
    const res = await this.send(() => request(realm, { headers: basic ? { Authorization: `Basic ${basic}` } : {}, signal }));
    if (!res.ok) throw new RegistryError(`${this.host}: token request to ${realm.origin} failed: ${res.status}`);
    const text = await readCapped(res, MAX_MANIFEST_BYTES, `${this.host}: token response`);
    let body: { token?: unknown; access_token?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // no JSON: no token, as below
    }
    const token = body.token ?? body.access_token;
    // The token goes into a header: printable ASCII only.
    if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token))
      throw new RegistryError(`${this.host}: token endpoint gave no usable token`);
    this.authorization = `Bearer ${token}`;
  }
}
