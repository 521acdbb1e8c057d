/** `check`: waits until an instance answers and reports how many series it holds (after a restore). */
import type { StoreContext } from '../types.js';
import { parseInstanceUrl, seriesCount, waitHealthy } from './instance.js';
import { wholeNumber } from './options.js';

export interface CheckOptions {
  url: URL;
  timeoutMs: number;
}

export function validateCheck(raw: { url?: unknown; timeoutSeconds?: unknown }): CheckOptions {
  return { url: parseInstanceUrl(String(raw.url ?? ''), '--url'), timeoutMs: wholeNumber(raw.timeoutSeconds ?? 300, '--timeout-seconds', 1, 86_400) * 1000 };
}

export interface CheckResult {
  url: string;
  healthy: true;
  series: number;
}

export async function runCheck(options: CheckOptions, _ctx: StoreContext): Promise<CheckResult> {
  await waitHealthy(options.url, options.timeoutMs);
  return { url: options.url.origin, healthy: true, series: await seriesCount(options.url) };
}
