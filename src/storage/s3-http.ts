/**
 * The S3 requests the store sends itself, signed with sigv4.ts, over node:http(s) with keep-alive:
 * no client library on the upload, download and listing paths (loading the `minio` library cost
 * 37-40 MiB of RSS per process, a third of the 128 MiB budget of issue 18). Bodies going up are
 * Buffers (parts of the pool in parts.ts, small XML documents); answers are read whole, they are
 * small (headers, XML). Failures are Errors carrying the S3 error code (`code`) and the HTTP status
 * (`status`), as translateS3Error() and isTransientS3Error() read them.
 */
import { createHash } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { idleTimeoutMs, type S3Config } from '../config/storage.js';
import { Signer, objectPath, queryString, type Query } from './sigv4.js';

export interface S3Request {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  bucket: string;
  key?: string;
  query?: Query;
  headers?: Record<string, string>;
  body?: Buffer;
}

export interface S3Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An error answer of the server, or a request that could not be sent. */
export class S3Error extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/** The first `<name>…</name>` text of an XML document, unescaped; undefined when there is none. */
export function xmlText(xml: string, name: string): string | undefined {
  const open = xml.indexOf(`<${name}>`);
  if (open < 0) return undefined;
  const start = open + name.length + 2;
  const end = xml.indexOf(`</${name}>`, start);
  return end < 0 ? undefined : unescapeXml(xml.slice(start, end));
}

/** The raw inner text of every `<name>…</name>` element (not unescaped: they are elements to read on). */
export function xmlBlocks(xml: string, name: string): string[] {
  const out: string[] = [];
  const open = `<${name}>`;
  const close = `</${name}>`;
  for (let at = xml.indexOf(open); at >= 0; at = xml.indexOf(open, at)) {
    const end = xml.indexOf(close, at + open.length);
    if (end < 0) break;
    out.push(xml.slice(at + open.length, end));
    at = end + close.length;
  }
  return out;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function unescapeXml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : (ENTITIES[e] ?? ''),
  );
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** The error an answer stands for: the code of its XML error document, else one named after its status. */
export function errorOf(status: number, headers: IncomingHttpHeaders, body: string): S3Error {
  const minioCode = headers['x-minio-error-code'];
  const code =
    xmlText(body, 'Code') ??
    (typeof minioCode === 'string' ? minioCode : undefined) ??
    (status === 403
      ? 'AccessDenied'
      : status === 404
        ? 'NotFound'
        : status === 500
          ? 'InternalError'
          : status === 503
            ? 'ServiceUnavailable'
            : `HTTP ${status}`);
  const message =
    xmlText(body, 'Message') ??
    (typeof headers['x-minio-error-desc'] === 'string' ? headers['x-minio-error-desc'] : '');
  return new S3Error(
    `${code} (HTTP ${status})${message === '' ? '' : `: ${message.replace(/^"|"$/g, '')}`}`,
    code,
    status,
  );
}

export class S3Http {
  private readonly signer: Signer;
  private readonly agent: Agent;
  private readonly secure: boolean;

  constructor(private readonly config: S3Config) {
    this.signer = new Signer(config);
    this.secure = config.endpoint.protocol === 'https:';
    this.agent = this.secure ? new HttpsAgent({ keepAlive: true }) : new Agent({ keepAlive: true });
  }

  /** A presigned URL for GET of key, valid for expiresSeconds. */
  presignGet(bucket: string, key: string, expiresSeconds: number): URL {
    return this.signer.presign(this.config.endpoint, 'GET', objectPath(bucket, key), expiresSeconds);
  }

  /** Sends one request; answers 2xx responses, throws S3Error for every other. */
  async send(req: S3Request): Promise<S3Response> {
    const res = await this.raw(req);
    if (res.status >= 200 && res.status < 300) return res;
    throw errorOf(res.status, res.headers, res.body.toString('utf8'));
  }

  /** Sends one request and answers whatever came back. */
  raw(req: S3Request): Promise<S3Response> {
    const { endpoint } = this.config;
    const path = objectPath(req.bucket, req.key);
    const query = req.query ?? [];
    const headers: Record<string, string> = { host: endpoint.host };
    for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
    if (req.body !== undefined) {
      headers['content-length'] = String(req.body.length);
      // DeleteObjects requires Content-MD5; for small documents it is cheap, so every XML body has it.
      if (req.body.length > 0 && req.body.length < 1024 * 1024 && req.method === 'POST')
        headers['content-md5'] = createHash('md5').update(req.body).digest('base64');
    } else if (req.method === 'PUT' || req.method === 'POST') {
      headers['content-length'] = '0';
    }
    this.signer.sign(req.method, path, query, headers);
    const qs = queryString(query);
    const send = this.secure ? httpsRequest : httpRequest;
    const idle = idleTimeoutMs();
    return new Promise<S3Response>((resolve, reject) => {
      const request = send(
        {
          agent: this.agent,
          protocol: endpoint.protocol,
          hostname: endpoint.hostname.replace(/^\[|\]$/g, ''),
          port: endpoint.port === '' ? (this.secure ? 443 : 80) : Number(endpoint.port),
          method: req.method,
          path: qs === '' ? path : `${path}?${qs}`,
          headers,
          timeout: idle,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('error', reject);
          res.once('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      request.once('timeout', () =>
        request.destroy(
          Object.assign(new Error(`no byte moved to or from the server for ${idle / 1000} s`), { code: 'ETIMEDOUT' }),
        ),
      );
      request.once('error', reject);
      request.end(req.body);
    });
  }
}
