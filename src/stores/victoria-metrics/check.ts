/** `check`: waits until an instance answers and reports how many series it holds (after a restore). */
import { wholeNumber } from '../../config/options.js';
import type { StoreContext } from '../types.js';
import { parseInstanceUrl, seriesCount, waitHealthy } from './instance.js';

export interface CheckOptions {
  url: URL;
  timeoutMs: number;
}

export function validateCheck(raw: { url?: unknown; timeoutSeconds?: unknown }): CheckOptions {
  return {
    url: parseInstanceUrl(String(raw.url ?? ''), '--url'),
    timeoutMs: wholeNumber(raw.timeoutSeconds, '--timeout-seconds', 1, 86_400, 300) * 1000,
  };
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
