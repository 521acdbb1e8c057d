/**
 * Talking to a running VictoriaMetrics instance over HTTP: is it up, how many series does it hold.
 * Plain node:http(s) GETs, not fetch: the hourly backup asks /health before anything else, and fetch's
 * first use costs ~80 ms of start-up (loading its HTTP client) in every run.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { ExitCode, StackbackupError, messageOf, usageError } from '../../util/errors.js';

/** Parses and checks an instance URL (`http://host:8428`); refuses credentials in it. */
export function parseInstanceUrl(text: string, option: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(
      `${option} "${text}" is not a URL`,
      "Give the instance's HTTP address, for example http://victoria-metrics-0:8428.",
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`${option} "${text}" must start with http:// or https://`);
  if (url.username !== '' || url.password !== '') throw usageError(`${option} must not carry credentials`);
  if (url.search !== '' || url.hash !== '') throw usageError(`${option} "${text}" must not have a query or fragment`);
  return url;
}

/** The URL of an endpoint below the instance's address (keeps a path prefix such as /vm). */
export function endpoint(base: URL, path: string): string {
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}${path}`;
}

interface Answer {
  status: number;
  body: string;
}

/** GET of a small document; rejects on connection errors and after timeoutMs in all. */
async function get(url: string, timeoutMs: number): Promise<Answer> {
  const request = url.startsWith('https:') ? (await import('node:https')).request : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'GET', headers: { accept: 'application/json, text/plain' } },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end();
  });
}

/** True when the instance answers /health with OK. */
export async function isHealthy(base: URL, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await get(endpoint(base, '/health'), timeoutMs);
    return res.status === 200 && res.body.trim() === 'OK';
  } catch {
    return false;
  }
}

/**
 * Waits until the instance answers, polling every 500 ms, at most timeoutMs; `gone` tells why to stop
 * waiting early (a scratch process that exited).
 */
export async function waitHealthy(base: URL, timeoutMs: number, gone?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isHealthy(base)) return;
    const why = gone?.();
    if (why !== undefined) throw new StackbackupError(why, { exitCode: ExitCode.unreachable });
    if (Date.now() >= deadline) {
      throw new StackbackupError(
        `Victoria Metrics at ${base.origin} does not answer (${endpoint(base, '/health')}) after ${Math.round(timeoutMs / 1000)} s`,
        {
          exitCode: ExitCode.unreachable,
          hint: "Check the instance's pods (kubectl get pods) and its logs; the URL comes from the victoria-metrics-N.backup.url Helm value.",
        },
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Number of series the instance holds (/api/v1/series/count). */
export async function seriesCount(base: URL): Promise<number> {
  const url = endpoint(base, '/api/v1/series/count');
  let res: Answer;
  try {
    res = await get(url, 30_000);
  } catch (err) {
    throw new StackbackupError(`Victoria Metrics at ${base.origin} does not answer ${url}: ${messageOf(err)}`, {
      exitCode: ExitCode.unreachable,
      hint: "Check the instance's pods (kubectl get pods) and its logs.",
    });
  }
  let body: { status?: string; data?: unknown } = {};
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    // not JSON: reported below with the status
  }
  const data = Array.isArray(body.data) ? body.data[0] : body.data;
  if (res.status !== 200 || body.status !== 'success' || typeof data !== 'number') {
    throw new StackbackupError(`Victoria Metrics at ${base.origin} answered /api/v1/series/count with ${res.status}`);
  }
  return data;
}
