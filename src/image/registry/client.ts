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

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export class RegistryError extends TboxError {}

/** Where docker.io's API lives; TBOX_HUB_REGISTRY points it elsewhere (the tests point it nowhere). */
const hubHost = () => process.env.TBOX_HUB_REGISTRY || 'registry-1.docker.io';

function isInsecure(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (name === 'localhost' || name === '::1' || /^127\./.test(name)) return true;
  return (process.env.TBOX_INSECURE_REGISTRIES ?? '').split(',').map((h) => h.trim()).includes(host);
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

export class RegistryClient {
  private authorization: string | undefined;

  constructor(
    readonly base: string,
    readonly repository: string,
  ) {}

  private get host(): string {
    return new URL(this.base).host;
  }

  /** GET with auth: on a 401 challenge, get a token (or use basic credentials) and retry once. */
  async get(pathname: string, headers: Record<string, string> = {}): Promise<Response> {
    const url = `${this.base}/v2/${this.repository}/${pathname}`;
    const attempt = () =>
      fetch(url, { headers: { ...headers, ...(this.authorization ? { Authorization: this.authorization } : {}) }, redirect: 'follow' });
    let res = await this.send(attempt);
    if (res.status === 401 && !this.authorization) {
      await res.body?.cancel();
      await this.authenticate(res.headers.get('www-authenticate') ?? '');
      res = await this.send(attempt);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new RegistryError(`${this.host}: access to ${this.repository} denied (${res.status}): the image may not exist, or may need credentials in ~/.docker/config.json`);
    }
    return res;
  }

  private async send(attempt: () => Promise<Response>): Promise<Response> {
    try {
      return await attempt();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RegistryError(`cannot reach registry ${this.host}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
  }

  private async authenticate(challenge: string): Promise<void> {
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
    realm.searchParams.set('scope', params.scope ?? `repository:${this.repository}:pull`);
    const res = await this.send(() => fetch(realm, { headers: basic ? { Authorization: `Basic ${basic}` } : {} }));
    if (!res.ok) throw new RegistryError(`${this.host}: token request to ${realm.origin} failed: ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`${this.host}: token endpoint gave no token`);
    this.authorization = `Bearer ${token}`;
  }
}
