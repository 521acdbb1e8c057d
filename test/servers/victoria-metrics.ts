/**
 * A real single-node VictoriaMetrics on loopback for tests, the demo's tests and the benchmark, plus
 * the few HTTP calls they need: import samples (/api/v1/import), flush, export every sample back.
 * The data folder outlives stop() unless asked, so that a test can restart an instance on the same
 * volume, wipe it, or restore into it while it is stopped.
 */
import { rm } from 'node:fs/promises';
import { freePort, httpReady, startProcess, tempDir, toolPath, type RunningProcess } from './harness.js';

export interface VictoriaMetricsServer {
  url: string;
  dataDir: string;
  process: RunningProcess;
  /** Stops the server; the data folder stays. */
  stop(): Promise<void>;
}

/** Paths of the three programs (fails with the install command when missing). */
export function victoriaMetricsTools(): { server: string; vmbackup: string; vmrestore: string } {
  return {
    server: toolPath('victoria-metrics', 'victoria-metrics'),
    vmbackup: toolPath('vmbackup', 'victoria-metrics'),
    vmrestore: toolPath('vmrestore', 'victoria-metrics'),
  };
}

export async function startVictoriaMetrics(
  options: { dataDir?: string; port?: number } = {},
): Promise<VictoriaMetricsServer> {
  const { server } = victoriaMetricsTools();
  const dataDir = options.dataDir ?? (await tempDir('vm-data'));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = await startProcess({
    name: 'victoria-metrics',
    command: server,
    args: [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-retentionPeriod=100y',
      '-search.disableCache',
      '-loggerLevel=WARN',
    ],
    env: { GOMAXPROCS: '2' },
    ready: () => httpReady(`${url}/health`),
  });
  return { url, dataDir, process: proc, stop: () => proc.stop() };
}

export async function removeDataDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface Series {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/** Imports series through /api/v1/import (JSON lines), in batches, then flushes them to disk. */
export async function importSeries(url: string, series: readonly Series[]): Promise<void> {
  const batch = 200;
  for (let i = 0; i < series.length; i += batch) {
    const body = series
      .slice(i, i + batch)
      .map((s) => JSON.stringify(s))
      .join('\n');
    const res = await fetch(`${url}/api/v1/import`, { method: 'POST', body });
    if (!res.ok) throw new Error(`import failed: ${res.status} ${await res.text()}`);
  }
  await flush(url);
}

export async function flush(url: string): Promise<void> {
  const res = await fetch(`${url}/internal/force_flush`);
  if (!res.ok) throw new Error(`force_flush failed: ${res.status}`);
}

/** Every sample of every series, sorted, as `name{labels} ts value` lines: equal sets compare equal. */
export async function exportAll(url: string): Promise<string[]> {
  const params = new URLSearchParams({
    'match[]': '{__name__=~".+"}',
    start: '0',
    end: String(Math.floor(Date.now() / 1000) + 86_400),
  });
  const res = await fetch(`${url}/api/v1/export?${params.toString()}`);
  if (!res.ok) throw new Error(`export failed: ${res.status} ${await res.text()}`);
  return samplesOf(
    (await res.text())
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Series),
  );
}

export function samplesOf(series: readonly Series[]): string[] {
  const out: string[] = [];
  for (const s of series) {
    const labels = Object.entries(s.metric)
      .filter(([k]) => k !== '__name__')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    const name = `${s.metric.__name__ ?? ''}{${labels}}`;
    s.timestamps.forEach((t, i) => out.push(`${name} ${t} ${s.values[i]}`));
  }
  return out.sort();
}

/**
 * Deterministic test series: `count` series of `samples` samples each, one a minute from `start`
 * (ms), values with two decimals (they round-trip exactly through VictoriaMetrics' decimal encoding).
 */
export function makeSeries(
  count: number,
  samples: number,
  start: number,
  seed: number,
  name = 'stackbackup_test',
): Series[] {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  const out: Series[] = [];
  for (let i = 0; i < count; i += 1) {
    const timestamps: number[] = [];
    const values: number[] = [];
    for (let j = 0; j < samples; j += 1) {
      timestamps.push(start + j * 60_000);
      values.push(Math.round(next() * 1_000_000) / 100);
    }
    out.push({ metric: { __name__: name, instance: `host-${i % 50}`, series: String(i) }, values, timestamps });
  }
  return out;
}
