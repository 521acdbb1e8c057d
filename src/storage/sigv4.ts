/**
 * AWS Signature Version 4 for S3 requests, on node:crypto alone: header signing for the requests the
 * S3 store sends itself (s3-http.ts) and query signing for presigned GET URLs. Payloads are sent as
 * UNSIGNED-PAYLOAD: the request is signed, and each backup's integrity is its end-to-end SHA-256,
 * published with it and verified on every download (see publish.ts).
 * Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { createHash, createHmac } from 'node:crypto';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface Credentials {
  accessKey: string;
  secretKey: string;
  region: string;
}

/** Query parameters in request order; an empty value is sent as a bare name (`?uploads`). */
export type Query = readonly (readonly [string, string])[];

/** RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ is escaped. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path of an object in path style, `/bucket/key`, each segment encoded and the slashes kept. */
export function objectPath(bucket: string, key?: string): string {
  const path = key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
  return path.split('/').map(uriEncode).join('/');
}

function canonicalQuery(query: Query): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** The query string as sent on the wire. */
export function queryString(query: Query): string {
  return query.map(([k, v]) => (v === '' ? uriEncode(k) : `${uriEncode(k)}=${uriEncode(v)}`)).join('&');
}

/** `20261204T023000Z` */
export function amzDate(when: Date): string {
  return when
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** Derives (and caches per day and region) the signing key: four HMACs per day instead of per request. */
export class Signer {
  private cachedDay = '';
  private cachedKey: Buffer = Buffer.alloc(0);

  constructor(private readonly credentials: Credentials) {}

  private key(day: string): Buffer {
    if (day !== this.cachedDay) {
      const { secretKey, region } = this.credentials;
      this.cachedKey = hmac(hmac(hmac(hmac(`AWS4${secretKey}`, day), region), 's3'), 'aws4_request');
      this.cachedDay = day;
    }
    return this.cachedKey;
  }

  private scope(day: string): string {
    return `${day}/${this.credentials.region}/s3/aws4_request`;
  }

  private signature(stamp: string, canonicalRequest: string): string {
    const day = stamp.slice(0, 8);
    const toSign = `AWS4-HMAC-SHA256\n${stamp}\n${this.scope(day)}\n${sha256Hex(canonicalRequest)}`;
    return createHmac('sha256', this.key(day)).update(toSign, 'utf8').digest('hex');
  }

  /**
   * Signs a request in place: adds x-amz-date, x-amz-content-sha256 and Authorization to headers
   * (names in lower case; host must be among them). Every header given is signed.
   */
  sign(
    method: string,
    path: string,
    query: Query,
    headers: Record<string, string>,
    payloadHash = UNSIGNED_PAYLOAD,
    now = new Date(),
  ): void {
    const stamp = amzDate(now);
    headers['x-amz-date'] = stamp;
    headers['x-amz-content-sha256'] = payloadHash;
    const names = Object.keys(headers)
      .map((n) => n.toLowerCase())
      .sort();
    const lower = new Map(Object.entries(headers).map(([n, v]) => [n.toLowerCase(), v]));
    const canonicalHeaders = names.map((n) => `${n}:${(lower.get(n) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
    const signed = names.join(';');
    const request = `${method}\n${path}\n${canonicalQuery(query)}\n${canonicalHeaders}\n${signed}\n${payloadHash}`;
    headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKey}/${this.scope(stamp.slice(0, 8))}, ` +
      `SignedHeaders=${signed}, Signature=${this.signature(stamp, request)}`;
  }

  /** A presigned URL (query signing, host the only signed header) valid for expiresSeconds. */
  presign(origin: URL, method: string, path: string, expiresSeconds: number, now = new Date()): URL {
    const stamp = amzDate(now);
    const query: [string, string][] = [
      ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
      ['X-Amz-Credential', `${this.credentials.accessKey}/${this.scope(stamp.slice(0, 8))}`],
      ['X-Amz-Date', stamp],
      ['X-Amz-Expires', String(expiresSeconds)],
      ['X-Amz-SignedHeaders', 'host'],
    ];
    const request = `${method}\n${path}\n${canonicalQuery(query)}\nhost:${origin.host}\n\nhost\n${UNSIGNED_PAYLOAD}`;
    query.push(['X-Amz-Signature', this.signature(stamp, request)]);
    return new URL(`${origin.protocol}//${origin.host}${path}?${queryString(query)}`);
  }
}
