/**
 * The metrics exporter: derives the status of every target on an interval (the same collectStatus()
 * as `stackbackup status`) and serves the last result on /metrics; /healthz answers while it runs.
 * A scrape never triggers a scan, so scraping often costs the buckets nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { log, warn } from '../util/log.js';
import { messageOf } from '../util/errors.js';
import { renderMetrics, type ExporterCounters } from './metrics.js';
import { collectStatus, kubeInputs, type StatusInputs, type StatusReport } from './status.js';
import type { TargetsConfig } from './targets.js';
import { makeEvent, notify, type Webhook } from './notify.js';

export interface ExporterOptions {
  targets: TargetsConfig;
  host: string;
  port: number;
  intervalSeconds: number;
  namespace: string | undefined;
  /** Where target_stale events go (a target turning stale or never, once per change). */
  webhook?: Webhook | undefined;
}

/**
 * The targets that went stale since the previous report: into `stale` or `never` from another state,
 * or already `stale` at the first refresh (a fresh install's `never` is not news).
 */
export function newlyStale(
  previous: ReadonlyMap<string, string> | undefined,
  report: StatusReport,
): StatusReport['targets'] {
  return report.targets.filter((t) => {
    const before = previous?.get(`${t.store}/${t.target}`);
    if (previous === undefined) return t.state === 'stale';
    return (t.state === 'stale' || t.state === 'never') && before !== t.state && before !== undefined;
  });
}

export interface RunningExporter {
  server: Server;
  port: number;
  /** Derives the state now (the interval timer calls it too). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export async function startExporter(
  options: ExporterOptions,
  ctx: StatusInputs['ctx'],
  onReport: (report: StatusReport) => void = () => undefined,
): Promise<RunningExporter> {
  const counters: ExporterCounters = {
    refreshes: 0,
    failures: 0,
    lastRefreshSeconds: 0,
    lastRefreshDurationSeconds: 0,
  };
  let body = '';
  let states: Map<string, string> | undefined;
  let refreshing: Promise<void> | undefined;
  const refresh = async (): Promise<void> => {
    if (refreshing !== undefined) return refreshing;
    refreshing = (async () => {
      const started = Date.now();
      try {
        const report = await collectStatus(options.targets, {
          ctx,
          kube: await kubeInputs(options.targets, options.namespace),
        });
        counters.refreshes += 1;
        counters.lastRefreshSeconds = Date.now() / 1000;
        counters.lastRefreshDurationSeconds = (Date.now() - started) / 1000;
        body = renderMetrics(report, counters);
        const stale = newlyStale(states, report);
        states = new Map(report.targets.map((t) => [`${t.store}/${t.target}`, t.state]));
        onReport(report);
        if (options.webhook !== undefined) {
          for (const t of stale)
            await notify(
              options.webhook,
              makeEvent('target_stale', {
                store: t.store,
                target: t.target,
                message: t.reason,
                subject: t.newest?.name ?? null,
              }),
            );
        }
        const notOk = report.targets.filter((t) => t.state !== 'ok');
        log(
          `metrics: ${report.targets.length} targets, ${notOk.length} not ok${notOk.map((t) => `; ${t.store}/${t.target} ${t.state}`).join('')}`,
        );
      } catch (err) {
        counters.refreshes += 1;
        counters.failures += 1;
        warn(`metrics: refresh failed: ${messageOf(err)}`);
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  };
  await refresh();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(body);
    } else if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const timer = setInterval(() => void refresh(), options.intervalSeconds * 1000);
  timer.unref();
  const port = (server.address() as AddressInfo).port;
  log(`metrics: serving http://${options.host}:${port}/metrics, refreshed every ${options.intervalSeconds}s`);
  return {
    server,
    port,
    refresh,
    close: async () => {
      clearInterval(timer);
      await refreshing;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
