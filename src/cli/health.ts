/**
 * `stackbackup status` (one row per backup target, exit 1 when any is not ok) and `stackbackup metrics
 * serve` (the Prometheus exporter). Both read the targets file the chart renders (--targets).
 */
import type { Argv } from 'yargs';
import { optionalText, text, wholeNumber } from '../config/options.js';
import { startExporter } from '../health/exporter.js';
import { collectStatus, kubeInputs, type StatusReport, type TargetStatus } from '../health/status.js';
import { loadTargets } from '../health/targets.js';
import { webhookFromEnv } from '../health/notify.js';
import { ExitCode, StackbackupError, usageError } from '../util/errors.js';
import { formatBytes, formatSeconds } from '../util/format.js';
import type { Exec } from './context.js';
import { documented } from './help.js';
import { renderTable } from './output.js';

const DEFAULT_TARGETS = '/etc/stackbackup/status/targets.json';

const targetsOption = {
  type: 'string',
  default: DEFAULT_TARGETS,
  describe: 'targets file (JSON; the chart mounts it from its status ConfigMap)',
} as const;
const namespaceOption = {
  type: 'string',
  describe: "namespace of the CronJobs and Jobs (default: the kubeconfig context or the pod's own)",
} as const;

function when(iso: string | null): string {
  return iso === null ? '-' : iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

function drillText(t: TargetStatus): string {
  if (t.drill === null) return '-';
  return `${t.drill.outcome} ${when(t.drill.startedAt)}`;
}

function lastRunText(t: TargetStatus): string {
  if (t.lastRun === null) return '-';
  return `${t.lastRun.result} ${when(t.lastRun.startedAt)}`;
}

export function statusText(report: StatusReport): string {
  const rows = report.targets.map((t) => [
    `${t.store}/${t.target}`,
    t.state,
    t.newest?.name ?? '-',
    t.newest?.ageSeconds == null ? '-' : formatSeconds(t.newest.ageSeconds),
    t.newest?.sizeBytes == null ? '-' : formatBytes(t.newest.sizeBytes),
    t.backups,
    t.incomplete,
    lastRunText(t),
    t.paused ? 'paused' : when(t.nextRun),
    drillText(t),
  ]);
  const table = renderTable(
    ['TARGET', 'STATE', 'NEWEST', 'AGE', 'SIZE', 'KEPT', 'INCOMPLETE', 'LAST RUN', 'NEXT RUN', 'LAST DRILL'],
    rows,
  );
  const reasons = [
    ...report.targets.filter((t) => t.state !== 'ok').map((t) => `${t.store}/${t.target}: ${t.state}: ${t.reason}`),
    ...report.targets
      .filter((t) => t.drill?.outcome === 'failed')
      .map(
        (t) =>
          `${t.store}/${t.target}: the last drill (of ${t.drill?.backup ?? '?'}) failed: ${t.drill?.reason ?? 'no reason recorded'}`,
      ),
  ];
  return [table, ...(reasons.length > 0 ? ['', ...reasons] : [])].join('\n');
}

export function registerHealth(yargs: Argv, exec: Exec): Argv {
  return yargs
    .command(
      'status',
      'one row per backup target: newest complete backup, age, size, kept, leftovers, last run, next run, state',
      (y) => documented(y.option('targets', targetsOption).option('namespace', namespaceOption), 'status'),
      (a) =>
        exec(
          () => ({
            targets: loadTargets(text(a.targets, '--targets', DEFAULT_TARGETS)),
            namespace: optionalText(a.namespace, '--namespace'),
          }),
          async (o, ctx) => {
            const report = await collectStatus(o.targets, { ctx, kube: await kubeInputs(o.targets, o.namespace) });
            ctx.printer.result(report, statusText);
            const notOk = report.targets.filter((t) => t.state !== 'ok');
            if (notOk.length > 0)
              throw new StackbackupError(`${notOk.length} of ${report.targets.length} backup targets are not ok`, {
                exitCode: ExitCode.failure,
                hint: "See each target's reason above; ./restore/list-*.sh shows its backups.",
              });
          },
        ),
    )
    .command('metrics', 'Prometheus metrics of the backup targets', (y) =>
      y
        .command(
          'serve',
          'derive the state of every target on an interval and serve it on /metrics',
          (c) =>
            documented(
              c
                .option('targets', targetsOption)
                .option('namespace', namespaceOption)
                .option('listen', { type: 'string', default: '0.0.0.0', describe: 'address to listen on' })
                .option('port', { type: 'string', default: '9469', describe: 'port of /metrics' })
                .option('interval', {
                  type: 'string',
                  default: '300',
                  describe: 'seconds between two scans of the buckets',
                }),
              'metrics serve',
            ),
          (a) =>
            exec(
              () => {
                const host = text(a.listen, '--listen', '0.0.0.0');
                if (!/^[0-9a-fA-F.:]+$|^localhost$/.test(host))
                  throw usageError(`--listen "${host}" is not an IP address`);
                return {
                  targets: loadTargets(text(a.targets, '--targets', DEFAULT_TARGETS)),
                  namespace: optionalText(a.namespace, '--namespace'),
                  host,
                  port: wholeNumber(a.port, '--port', 0, 65535, 9469),
                  intervalSeconds: wholeNumber(a.interval, '--interval', 10, 86400, 300),
                  webhook: webhookFromEnv(),
                };
              },
              async (o, ctx) => {
                const exporter = await startExporter(o, ctx);
                await new Promise<void>((resolve) => {
                  const stop = () => void exporter.close().then(resolve);
                  process.once('SIGTERM', stop);
                  process.once('SIGINT', stop);
                });
              },
            ),
        )
        .demandCommand(1, 'name a metrics command: serve'),
    );
}
