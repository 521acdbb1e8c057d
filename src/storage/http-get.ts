/**
 * A GET of a presigned http:// URL over a plain socket, for large downloads. The socket reads straight
 * into the free end of a 1 MiB slab (net's `onread`) and the body hands on views of the slab, so
 * receiving costs the kernel's copy and nothing more: on two cores shared with MinIO, fetch's body
 * handling costs ~5x the CPU and halves download speed. Scope is
 * deliberately narrow: HTTP/1.1, one request per connection, bodies framed by Content-Length. Anything
 * else (https, chunked bodies, no length) is refused with UnsupportedResponse before a byte of body is
 * read, and the caller uses fetch instead. A framing error can never pass silently: every download is
 * checked against its published SHA-256 before the file is moved into place.
 */
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { idleTimeoutMs as idleTimeout } from '../config/storage.js';
import type { RecyclingStream } from './file-chunks.js';

export interface HttpGetResponse {
  status: number;
  /** Header names in lower case. */
  headers: Map<string, string>;
  /**
   * Exactly Content-Length bytes; fails when the connection ends early. A consumer done with a chunk
   * may hand it back with recycle(): a slab whose chunks all came back is read into again instead of
   * a new one (without it every MiB received is a MiB of garbage for V8 to collect).
   */
  body: RecyclingStream;
}

/**
 * Slabs kept for reuse. Flow control bounds the slabs alive at once: the one read into, those holding
 * the body's buffered MiB, and the one the consumer is copying from, about four. Keeping fewer than
 * that made a slow disk (writes throttled at 16 GiB) drop and reallocate ~800 slabs per download.
 */
const KEEP_SLABS = 8;

/** The URL or the response needs a full HTTP client (fetch); nothing was consumed from the body. */
export class UnsupportedResponse extends Error {}

/** 1 MiB: a slab lives until every view of it is consumed and collected; bigger slabs held ~20 MiB more RSS. */
const SLAB = 1024 * 1024;
/** A read gets at least this much room; a slab with less left is replaced by a new one. */
const MIN_READ = 256 * 1024;
const MAX_HEAD = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

function failure(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

function parseHead(text: string): { status: number; headers: Map<string, string> } {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (match === null) throw new UnsupportedResponse(`unexpected status line "${statusLine.slice(0, 40)}"`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), headers };
}

export function httpGet(url: URL, options: { idleTimeoutMs?: number } = {}): Promise<HttpGetResponse> {
  if (url.protocol !== 'http:') return Promise.reject(new UnsupportedResponse(`${url.protocol} is served by fetch`));
  // A reader that stalls (backpressure) also pauses the socket: the same idle limit applies to it.
  const idleTimeoutMs = options.idleTimeoutMs ?? idleTimeout();
  return new Promise((resolve, reject) => {
    let head: Buffer[] = [];
    let headBytes = 0;
    let body: RecyclingStream | undefined;
    let length = 0;
    let received = 0;
    let done = false;
    // Chunks of each slab not yet handed back; a slab retired (too full to read into) returns to the
    // free list once that count is 0.
    const lent = new Map<ArrayBufferLike, { out: number; retired: boolean }>();
    const free: Buffer[] = [];
    const newSlab = (): Buffer => {
      const next = free.pop() ?? Buffer.allocUnsafeSlow(SLAB);
      lent.set(next.buffer, { out: 0, retired: false });
      return next;
    };
    const release = (buffer: ArrayBufferLike, state: { out: number; retired: boolean }): void => {
      if (!state.retired || state.out > 0) return;
      lent.delete(buffer);
      if (free.length < KEEP_SLABS) free.push(Buffer.from(buffer, 0, SLAB));
    };
    const recycle = (chunk: Buffer): void => {
      const state = lent.get(chunk.buffer);
      if (state === undefined || state.out === 0) return;
      state.out -= 1;
      release(chunk.buffer, state);
    };
    let slab = newSlab();
    let used = 0;

    const onBody = (chunk: Buffer): boolean => {
      if (body === undefined || chunk.length === 0) return true;
      received += chunk.length;
      if (received > length) {
        body.destroy(failure(`the server sent more than the ${length} bytes it announced`, 'EPROTO'));
        return false;
      }
      // The slab region is not read into again until the chunk is recycled: the view is handed on as it is.
      const state = lent.get(chunk.buffer);
      if (state !== undefined) state.out += 1;
      const more = body.push(chunk);
      if (received === length) {
        done = true;
        body.push(null);
        socket.destroy();
        return false;
      }
      return more;
    };

    const onHead = (chunk: Buffer): boolean => {
      head.push(Buffer.from(chunk));
      headBytes += chunk.length;
      const all = Buffer.concat(head, headBytes);
      const end = all.indexOf(HEAD_END);
      if (end < 0) {
        if (headBytes > MAX_HEAD) fail(new UnsupportedResponse('response headers larger than 64 KiB'));
        return true;
      }
      head = [];
      let parsed: { status: number; headers: Map<string, string> };
      try {
        parsed = parseHead(all.subarray(0, end).toString('latin1'));
      } catch (err) {
        fail(err as Error);
        return false;
      }
      const declared = parsed.headers.get('content-length');
      if (parsed.headers.has('transfer-encoding') || declared === undefined || !/^\d+$/.test(declared)) {
        fail(new UnsupportedResponse('the response has no Content-Length'));
        return false;
      }
      length = Number(declared);
      body = Object.assign(
        new Readable({
          highWaterMark: SLAB,
          read() {
            socket.resume();
          },
          destroy(err, callback) {
            socket.destroy();
            callback(err);
          },
        }),
        { recycle },
      );
      resolve({ status: parsed.status, headers: parsed.headers, body });
      if (length === 0) {
        done = true;
        body.push(null);
        socket.destroy();
        return false;
      }
      return onBody(all.subarray(end + HEAD_END.length));
    };

    const fail = (err: Error): void => {
      if (body === undefined) reject(err);
      else if (!done) body.destroy(err);
      socket.destroy();
    };

    const socket: Socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? 80 : Number(url.port),
      onread: {
        buffer: () => {
          if (SLAB - used < MIN_READ) {
            const state = lent.get(slab.buffer);
            if (state !== undefined) {
              state.retired = true;
              release(slab.buffer, state);
            }
            slab = newSlab();
            used = 0;
          }
          return slab.subarray(used);
        },
        // Returning false pauses the socket until the body's reader wants more.
        callback: (bytes: number, buffer: Uint8Array) => {
          const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, bytes);
          used += bytes;
          return body === undefined ? onHead(chunk) : onBody(chunk);
        },
      },
    });
    socket.setNoDelay(true);
    socket.setTimeout(idleTimeoutMs, () =>
      fail(failure(`no data from the server for ${Math.round(idleTimeoutMs / 1000)} s`, 'ETIMEDOUT')),
    );
    socket.once('connect', () => {
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: stackbackup\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n`,
      );
    });
    socket.once('error', (err) => fail(err));
    socket.once('close', () => {
      if (!done)
        fail(
          failure(
            body === undefined
              ? 'the server closed the connection before answering'
              : `the connection closed after ${received} of ${length} bytes`,
            'ECONNRESET',
          ),
        );
    });
  });
}
