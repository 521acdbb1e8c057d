/** Talking to a running VictoriaMetrics instance over HTTP: is it up, how many series does it hold. */
import { ExitCode, StackbackupError, usageError } from '../../util/errors.js';

/** Parses and checks an instance URL (`http://host:8428`); refuses credentials in it. */
export function parseInstanceUrl(text: string, option: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`${option} "${text}" is not a URL`, 'Give the instance\'s HTTP address, for example http://victoria-metrics-0:8428.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`${option} "${text}" must start with http:// or https://`);
  if (url.username !== '' || url.password !== '') throw usageError(`${option} must not carry credentials`);
  if (url.search !== '' || url.hash !== '') throw usageError(`${option} "${text}" must not have a query or fragment`);
  return url;
}

/** The URL of an endpoint below the instance's address (keeps a path prefix such as /vm). */
export function endpoint(base: URL, path: string): string {
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}${path}`;
}

/** True when the instance answers /health with OK. */
export async function isHealthy(base: URL, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(endpoint(base, '/health'), { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    return res.ok && body.trim() === 'OK';
  } catch {
    return false;
  }
}

/** Waits until the instance answers, polling every 500 ms, at most timeoutMs. */
export async function waitHealthy(base: URL, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isHealthy(base)) return;
    if (Date.now() >= deadline) {
      throw new StackbackupError(`Victoria Metrics at ${base.origin} does not answer (${endpoint(base, '/health')}) after ${Math.round(timeoutMs / 1000)} s`, {
        exitCode: ExitCode.unreachable,
        hint: 'Check the instance\'s pods (kubectl get pods) and its logs; the URL comes from the victoria-metrics-N.backup.url Helm value.',
      });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Number of series the instance holds (/api/v1/series/count). */
export async function seriesCount(base: URL): Promise<number> {
  const res = await fetch(endpoint(base, '/api/v1/series/count'), { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { status?: string; data?: unknown };
  const data = Array.isArray(body.data) ? body.data[0] : body.data;
  if (!res.ok || body.status !== 'success' || typeof data !== 'number') {
    throw new StackbackupError(`Victoria Metrics at ${base.origin} answered /api/v1/series/count with ${res.status}`);
  }
  return data;
}
