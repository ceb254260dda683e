/**
 * The few parts of fetch the registry client uses, on node:http and
 * node:https: fetch's first use loads undici, which cost every pull 40-70 ms
 * here. Redirects are followed for GET and HEAD (blob storage elsewhere), and
 * the Authorization header never follows one to another origin.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

export interface HttpBody extends AsyncIterable<Uint8Array> {
  cancel(): Promise<void>;
}

export interface HttpResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  body: HttpBody;
}

export interface HttpInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Blob | string;
  signal?: AbortSignal;
  /** follow: GET and HEAD go where a 3xx points; manual: the 3xx is the answer */
  redirect?: 'follow' | 'manual';
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function request(url: string | URL, init: HttpInit = {}, hops = 0): Promise<HttpResponse> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { ...init.headers };
  if (typeof init.body === 'string') headers['content-length'] = String(Buffer.byteLength(init.body));
  else if (init.body) headers['content-length'] = String(init.body.size);
  return new Promise((resolve, reject) => {
    const req = client.request(target, { method: init.method ?? 'GET', headers, signal: init.signal }, (res) => {
      const location = res.headers.location;
      if (init.redirect !== 'manual' && REDIRECTS.has(res.statusCode ?? 0) && location && hops < 10) {
        res.resume();
        const next = new URL(location, target);
        const nextHeaders = { ...init.headers };
        if (next.origin !== target.origin)
          for (const k of Object.keys(nextHeaders)) if (k.toLowerCase() === 'authorization') delete nextHeaders[k];
        resolve(
          request(next, { ...init, headers: nextHeaders, ...(res.statusCode === 303 ? { method: 'GET', body: undefined } : {}) }, hops + 1),
        );
        return;
      }
      const status = res.statusCode ?? 0;
      // A HEAD has no body; a response left unread holds its socket, and the socket holds the process open.
      if ((init.method ?? 'GET') === 'HEAD') res.resume();
      resolve({
        status,
        ok: status >= 200 && status <= 299,
        headers: {
          get: (name) => {
            const v = res.headers[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
          },
        },
        body: Object.assign(res as AsyncIterable<Uint8Array>, {
          cancel: async () => {
            res.destroy();
          },
        }),
      });
    });
    req.on('error', reject);
    if (typeof init.body === 'string') req.end(init.body);
    else if (init.body) Readable.fromWeb(init.body.stream() as Parameters<typeof Readable.fromWeb>[0]).pipe(req);
    else req.end();
  });
}
