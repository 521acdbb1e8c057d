/**
 * A small Kubernetes API client for the test harness: JSON over HTTPS with the admin client
 * certificate, and watches that resume after the server closes them. The harness plays the kubelet
 * through it (pod status, deletion, service account tokens), so it speaks to the real API server only.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';

/** Loose JSON object shape of Kubernetes resources; the harness reads only the fields it needs. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface KubeList<T = KubeObject> {
  metadata: { resourceVersion?: string };
  items: T[];
}

export interface Credentials {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    method: string,
    path: string,
  ) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

export type PatchType = 'merge' | 'strategic' | 'json';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class KubeApi {
  private readonly url: URL;

  constructor(readonly credentials: Credentials) {
    this.url = new URL(credentials.server);
  }

  private options(method: string, path: string, headers: Record<string, string>): RequestOptions {
    return {
      method,
      hostname: this.url.hostname,
      port: this.url.port,
      path,
      ca: this.credentials.ca,
      cert: this.credentials.cert,
      key: this.credentials.key,
      headers: { accept: 'application/json', ...headers },
    };
  }

  async request<T = KubeObject>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> =
      payload === undefined
        ? {}
        : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(payload)) };
    return new Promise<T>((resolve, reject) => {
      const req = httpsRequest(this.options(method, path, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 300) {
            reject(new KubeApiError(status, text, method, path));
            return;
          }
          try {
            resolve((text === '' ? {} : JSON.parse(text)) as T);
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** GET that answers undefined on 404. */
  async find<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  create<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T = KubeObject>(path: string, body: unknown, type: PatchType = 'merge'): Promise<T> {
    return this.request<T>('PATCH', path, body, PATCH_CONTENT_TYPE[type]);
  }

  /** DELETE that ignores 404 (already gone). */
  async delete(path: string, options: Record<string, unknown> = {}): Promise<void> {
    try {
      await this.request('DELETE', path, { apiVersion: 'v1', kind: 'DeleteOptions', ...options });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return;
      throw err;
    }
  }

  /**
   * Lists then watches `path` (a collection), calling onEvent for each object, until signal aborts.
   * Reconnects when the server ends the watch and relists when the resource version expired.
   */
  async watch<T extends KubeObject>(
    path: string,
    query: Record<string, string>,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          const list = await this.get<KubeList<T>>(`${path}?${new URLSearchParams(query)}`);
          for (const item of list.items) onEvent({ type: 'ADDED', object: item });
          resourceVersion = list.metadata.resourceVersion;
        }
        const params = new URLSearchParams({
          ...query,
          watch: '1',
          allowWatchBookmarks: 'true',
          resourceVersion: resourceVersion ?? '',
        });
        resourceVersion = await this.stream<T>(`${path}?${params}`, resourceVersion, onEvent, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof KubeApiError && err.status === 410) resourceVersion = undefined;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private stream<T extends KubeObject>(
    path: string,
    since: string | undefined,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    let resourceVersion = since;
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ ...this.options('GET', path, {}), signal }, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            reject(new KubeApiError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), 'GET', path)),
          );
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (line.trim() === '') continue;
            const event = JSON.parse(line) as WatchEvent<T>;
            if (event.type === 'ERROR') {
              const status = (event.object as unknown as { code?: number }).code ?? 500;
              req.destroy();
              reject(new KubeApiError(status, line, 'WATCH', path));
              return;
            }
            resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
            if (event.type !== 'BOOKMARK') onEvent(event);
          }
        });
        res.on('end', () => resolve(resourceVersion));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }
}
