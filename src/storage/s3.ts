/**
 * S3-compatible backend (MinIO, AWS S3, s3proxy in front of Azure Blob). Requests are signed here
 * (sigv4.ts) and sent over node:http(s) (s3-http.ts): no client library is loaded on the upload,
 * download or listing paths, which keeps a transfer's peak RSS under 128 MiB (issue 18); the `minio`
 * library is loaded only to copy an object over 5 GiB (a multipart copy), which no command does today.
 * Large objects go up as multipart uploads of fixed-size parts, a few in flight at once, so memory
 * stays bounded whatever the object size; an upload is invisible until CompleteMultipartUpload, so a
 * cut-off upload never shows under its key, and it is aborted on failure (or cleaned up later).
 */
import { Readable } from 'node:stream';
import type { S3Config } from '../config/storage.js';
import { log } from '../util/log.js';
import { withRetry } from '../util/retry.js';
import { PartPool, partSizer, readParts, type Part } from './parts.js';
import { isTransientS3Error, translateS3Error } from './s3-errors.js';
import { S3Error, S3Http, errorOf, escapeXml, xmlBlocks, xmlText, type S3Request } from './s3-http.js';
import { httpGet, UnsupportedResponse } from './http-get.js';
import { objectPath } from './sigv4.js';
import type { ObjectInfo, ObjectStore, PutOptions } from './types.js';

const MIB = 1024 * 1024;
const MIN_PART_SIZE = 8 * MIB;
/** Two parts in flight (three part buffers) keep a loopback MinIO busy; each more costs a part of RSS. */
const PARTS_IN_FLIGHT = 2;
const MAX_COPY_SIZE = 5 * 1024 * MIB;
/** Presigned download URLs are valid this long; a download only needs it to start. */
const GET_URL_SECONDS = 15 * 60;

export interface S3StoreOptions {
  /** Attempts per request for network failures and 5xx answers (default 3). */
  attempts?: number;
  baseDelayMs?: number;
}

export class S3Store implements ObjectStore {
  readonly location: string;
  private readonly config: S3Config;
  private readonly http: S3Http;
  private readonly attempts: number;
  private readonly baseDelayMs: number;

  constructor(
    config: S3Config,
    readonly bucket: string,
    options: S3StoreOptions = {},
  ) {
    this.config = config;
    this.http = new S3Http(config);
    this.location = `s3://${bucket} at ${config.endpoint.origin}`;
    this.attempts = options.attempts ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 500;
  }

  private retried<T>(action: string, operation: () => Promise<T>): Promise<T> {
    return withRetry(operation, {
      attempts: this.attempts,
      baseDelayMs: this.baseDelayMs,
      isTransient: isTransientS3Error,
      onRetry: (_err, attempt, delayMs) =>
        log(`retrying ${action} in ${delayMs} ms (attempt ${attempt + 1} of ${this.attempts})`),
    });
  }

  /** Runs operation with retries; a failure that stays becomes an operator-facing error. */
  private call<T>(action: string, operation: () => Promise<T>): Promise<T> {
    return this.translated(action, () => this.retried(action, operation));
  }

  private async translated<T>(action: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw translateS3Error(err, action, this.location);
    }
  }

  /** One request on this bucket, retried; answers its 2xx response. */
  private request(
    action: string,
    req: Omit<S3Request, 'bucket'>,
  ): Promise<{ headers: Record<string, unknown>; body: string }> {
    return this.call(action, async () => {
      const res = await this.http.send({ ...req, bucket: this.bucket });
      return { headers: res.headers, body: res.body.toString('utf8') };
    });
  }

  async bucketExists(): Promise<boolean> {
    return this.call('checking the bucket', async () => {
      const res = await this.http.raw({ method: 'HEAD', bucket: this.bucket });
      if (res.status >= 200 && res.status < 300) return true;
      if (res.status === 404) return false;
      throw errorOf(res.status, res.headers, res.body.toString('utf8'));
    });
  }

  async createBucket(): Promise<void> {
    const { region } = this.config;
    const body =
      region === 'us-east-1'
        ? undefined
        : Buffer.from(
            `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${escapeXml(region)}</LocationConstraint></CreateBucketConfiguration>`,
          );
    await this.call('creating the bucket', async () => {
      try {
        await this.http.send({ method: 'PUT', bucket: this.bucket, ...(body === undefined ? {} : { body }) });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
      }
    });
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<void> {
    const action = `uploading ${key}`;
    // A previous run of the same upload may have died mid-way: its parts are invisible but use space.
    await this.abortUploads(key, (upload) => upload.key === key);
    const sizeOf = partSizer(options.size, MIN_PART_SIZE);
    const pool = new PartPool(PARTS_IN_FLIGHT + 1);
    const parts = readParts(body, pool, sizeOf);
    const first = await parts.next();
    if (first.done === true) return; // readParts always yields at least one part
    if (first.value.data.length < sizeOf(1)) {
      const { data } = first.value;
      await this.request(action, { method: 'PUT', key, body: data });
      options.onBytes?.(data.length);
      return;
    }
    const started = await this.request(action, { method: 'POST', key, query: [['uploads', '']] });
    const uploadId = xmlText(started.body, 'UploadId');
    if (uploadId === undefined)
      throw translateS3Error(new Error('the server answered no UploadId'), action, this.location);
    const etags: { part: number; etag: string }[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const send = (number: number, part: Part): void => {
      const task = this.retried(`${action} (part ${number})`, () =>
        this.http.send({
          method: 'PUT',
          bucket: this.bucket,
          key,
          query: [
            ['partNumber', String(number)],
            ['uploadId', uploadId],
          ],
          body: part.data,
        }),
      )
        .then((res) => {
          const etag = res.headers.etag;
          if (typeof etag !== 'string') throw new Error(`the server answered part ${number} without an ETag`);
          etags.push({ part: number, etag });
          options.onBytes?.(part.data.length);
        })
        .catch((err: unknown) => {
          failure ??= err;
        });
      const tracked = task.finally(() => {
        inFlight.delete(tracked);
        pool.release(part.buffer);
      });
      inFlight.add(tracked);
    };
    try {
      let number = 1;
      send(number, first.value);
      // The pool holds PARTS_IN_FLIGHT + 1 buffers: reading the next part waits for a free one.
      for await (const part of parts) {
        if (failure !== undefined) {
          pool.release(part.buffer);
          break;
        }
        number += 1;
        send(number, part);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      etags.sort((a, b) => a.part - b.part);
      const xml = `<CompleteMultipartUpload>${etags.map((e) => `<Part><PartNumber>${e.part}</PartNumber><ETag>${escapeXml(e.etag)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
      await this.retried(`${action} (completing)`, async () => {
        const res = await this.http.send({
          method: 'POST',
          bucket: this.bucket,
          key,
          query: [['uploadId', uploadId]],
          body: Buffer.from(xml),
        });
        // S3 may answer 200 and still fail the completion in the body.
        const text = res.body.toString('utf8');
        if (text.includes('<Error>')) throw errorOf(500, res.headers, text);
      });
    } catch (err) {
      await Promise.allSettled(inFlight);
      await this.http
        .send({ method: 'DELETE', bucket: this.bucket, key, query: [['uploadId', uploadId]] })
        .catch(() => undefined);
      throw translateS3Error(err, action, this.location);
    }
  }

  /**
   * Streams key from a short-lived presigned URL: over a plain socket for http:// endpoints (see
   * http-get.ts: a fifth of fetch's CPU per byte), with fetch (undici) for https:// and for responses
   * the plain reader does not handle. Errors map as for every other call.
   */
  get(key: string): Promise<Readable> {
    return this.call(`downloading ${key}`, async () => {
      const url = this.http.presignGet(this.bucket, key, GET_URL_SECONDS);
      const raw = await httpGet(url).catch((err: unknown) => {
        if (err instanceof UnsupportedResponse) return undefined;
        throw err;
      });
      if (raw !== undefined) {
        if (raw.status >= 200 && raw.status < 300) return raw.body;
        throw errorOf(raw.status, Object.fromEntries(raw.headers), await text(raw.body));
      }
      const res = await fetch(url);
      if (!res.ok || res.body === null)
        throw errorOf(res.status, Object.fromEntries(res.headers), await res.text().catch(() => ''));
      return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    return this.call(`reading ${key}`, async () => {
      const res = await this.http.raw({ method: 'HEAD', bucket: this.bucket, key });
      if (res.status === 404) return undefined;
      if (res.status < 200 || res.status >= 300) throw errorOf(res.status, res.headers, res.body.toString('utf8'));
      const size = Number(res.headers['content-length']);
      const modified = new Date(res.headers['last-modified'] ?? '');
      if (!Number.isFinite(size) || Number.isNaN(modified.getTime()))
        throw new S3Error(`the server answered ${key} without its size or time`, 'InvalidResponse', res.status);
      return { key, size, lastModified: modified };
    });
  }

  /** ListObjectsV2, 1000 keys a page; S3 answers in key order. */
  list(prefix: string): Promise<ObjectInfo[]> {
    const action = `listing ${prefix === '' ? 'the bucket' : prefix}`;
    // Each page is retried on its own: a failure on page 9 does not list pages 1-8 again.
    return this.translated(action, async () => {
      const out: ObjectInfo[] = [];
      const page = (token: string | undefined): Promise<string> => {
        const query: [string, string][] = [
          ['list-type', '2'],
          ['prefix', prefix],
        ];
        if (token !== undefined) query.push(['continuation-token', token]);
        return this.retried(action, async () =>
          (await this.http.send({ method: 'GET', bucket: this.bucket, query })).body.toString('utf8'),
        );
      };
      let next: Promise<string> | undefined = page(undefined);
      while (next !== undefined) {
        const xml: string = await next;
        // The next page is asked for before this one is parsed: the server works while we parse.
        const token = xmlText(xml, 'NextContinuationToken');
        next = xmlText(xml, 'IsTruncated') === 'true' && token !== undefined && token !== '' ? page(token) : undefined;
        // A failed prefetch is reported when it is awaited, not as an unhandled rejection meanwhile.
        next?.catch(() => undefined);
        for (const entry of xmlBlocks(xml, 'Contents')) {
          const key = xmlText(entry, 'Key');
          if (key === undefined) continue;
          out.push({
            key,
            size: Number(xmlText(entry, 'Size') ?? 0),
            lastModified: new Date(xmlText(entry, 'LastModified') ?? 0),
          });
        }
      }
      // S3 sorts by UTF-8 bytes; gateways may not: sort as the interface promises.
      for (let i = 1; i < out.length; i += 1) {
        if ((out[i - 1] as ObjectInfo).key > (out[i] as ObjectInfo).key) {
          out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
          break;
        }
      }
      return out;
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const xml = `<Delete><Quiet>true</Quiet>${batch.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join('')}</Delete>`;
      const res = await this.request('deleting objects', {
        method: 'POST',
        query: [['delete', '']],
        body: Buffer.from(xml),
      });
      const failed = xmlBlocks(res.body, 'Error')
        .map((e) => ({ key: xmlText(e, 'Key') ?? '', code: xmlText(e, 'Code') ?? '' }))
        .filter((e) => e.code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw translateS3Error(
          new Error(JSON.stringify(failed.slice(0, 3))),
          `deleting ${failed.length} objects`,
          this.location,
        );
      }
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const source = await this.stat(fromKey);
    if (source === undefined) throw translateS3Error({ code: 'NoSuchKey' }, `copying ${fromKey}`, this.location);
    const action = `copying ${fromKey} to ${toKey}`;
    if (source.size > MAX_COPY_SIZE) {
      await this.composeLarge(fromKey, toKey, action);
      return;
    }
    await this.call(action, async () => {
      const res = await this.http.send({
        method: 'PUT',
        bucket: this.bucket,
        key: toKey,
        headers: { 'x-amz-copy-source': objectPath(this.bucket, fromKey) },
      });
      const text = res.body.toString('utf8');
      if (text.includes('<Error>')) throw errorOf(500, res.headers, text);
    });
  }

  /** Over 5 GiB a copy is a multipart copy: the one operation still done by the `minio` library. */
  private async composeLarge(fromKey: string, toKey: string, action: string): Promise<void> {
    const minio = await import('minio');
    const { config } = this;
    const secure = config.endpoint.protocol === 'https:';
    const client = new minio.Client({
      endPoint: config.endpoint.hostname.replace(/^\[|\]$/g, ''),
      port: config.endpoint.port === '' ? (secure ? 443 : 80) : Number(config.endpoint.port),
      useSSL: secure,
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      region: config.region,
      pathStyle: true,
    });
    const src = new minio.CopySourceOptions({ Bucket: this.bucket, Object: fromKey });
    const dest = new minio.CopyDestinationOptions({ Bucket: this.bucket, Object: toKey });
    await this.call(action, () => client.composeObject(dest, [src]));
  }

  cleanupIncomplete(prefix: string, olderThan: Date): Promise<string[]> {
    return this.abortUploads(prefix, (upload) => upload.initiated.getTime() < olderThan.getTime());
  }

  /** Aborts the incomplete multipart uploads under prefix that match; returns what it removed. */
  private async abortUploads(
    prefix: string,
    matches: (upload: { key: string; initiated: Date }) => boolean,
  ): Promise<string[]> {
    const removed: string[] = [];
    let keyMarker = '';
    let uploadIdMarker = '';
    for (;;) {
      const query: [string, string][] = [
        ['uploads', ''],
        ['prefix', prefix],
      ];
      if (keyMarker !== '') query.push(['key-marker', keyMarker]);
      if (uploadIdMarker !== '') query.push(['upload-id-marker', uploadIdMarker]);
      const page = await this.request('listing incomplete uploads', { method: 'GET', query });
      for (const entry of xmlBlocks(page.body, 'Upload')) {
        const upload = {
          key: xmlText(entry, 'Key') ?? '',
          uploadId: xmlText(entry, 'UploadId') ?? '',
          initiated: new Date(xmlText(entry, 'Initiated') ?? 0),
        };
        if (upload.key === '' || upload.uploadId === '' || !matches(upload)) continue;
        await this.call(`aborting the incomplete upload of ${upload.key}`, async () => {
          try {
            await this.http.send({
              method: 'DELETE',
              bucket: this.bucket,
              key: upload.key,
              query: [['uploadId', upload.uploadId]],
            });
          } catch (err) {
            if ((err as { code?: string }).code !== 'NoSuchUpload') throw err;
          }
        });
        removed.push(`incomplete upload of ${upload.key} started ${upload.initiated.toISOString()}`);
      }
      const nextKey = xmlText(page.body, 'NextKeyMarker');
      if (xmlText(page.body, 'IsTruncated') !== 'true' || nextKey === undefined || nextKey === '') break;
      keyMarker = nextKey;
      uploadIdMarker = xmlText(page.body, 'NextUploadIdMarker') ?? '';
    }
    return removed;
  }
}

async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
