/**
 * `stackbackup victoria-metrics <verb>`: backup, list, restore, prune, check. Thin: yargs options ->
 * the store's validate*() -> run*(), then prints the returned data (a table, StackState-style lines,
 * or JSON).
 */
import type { Argv } from 'yargs';
import { formatBytes, formatSeconds } from '../util/format.js';
import { victoriaMetricsListTime } from '../storage/layout.js';
import { DateTime } from 'luxon';
import {
  DEFAULT_BUCKET,
  DEFAULT_KEEP_DAILY,
  DEFAULT_KEEP_WEEKLY,
  victoriaMetricsBackupList,
  victoriaMetricsPruneReport,
  victoriaMetricsStore,
  type BackupResult,
  type ListedVersion,
  type PruneResult,
} from '../stores/victoria-metrics/index.js';
import { type Exec, runs } from './context.js';
import { documented } from './help.js';
import { drillText, scratchDirOption, shrinkShareOption } from './drill.js';
import { groupNames } from './groups.js';
import { storeEntry } from '../stores/registry.js';
import { renderTable } from './output.js';

const time = (iso: string): string => victoriaMetricsListTime(DateTime.fromISO(iso, { zone: 'utc' }));

/** `instance version "last completed backup time"`, one version a line; incomplete ones flagged. */
export function renderVersions(rows: readonly ListedVersion[]): string {
  if (rows.length === 0) return 'No Victoria Metrics backups found.';
  return rows
    .map((r) =>
      r.complete && r.lastCompletedBackup !== null
        ? `${r.instance} ${r.version} "${time(r.lastCompletedBackup)}"`
        : `${r.instance} ${r.version} INCOMPLETE (last written "${time(r.lastWrite)}"; cannot be restored)`,
    )
    .join('\n');
}

function renderBackup(x: BackupResult): string {
  return [
    `${x.instance}: backed up into ${x.newVersion ? 'new ' : ''}version ${x.version} (${x.reason})`,
    `${formatBytes(x.backedUpBytes)} in the version, ${formatBytes(x.uploadedBytes)} uploaded, ${formatBytes(x.copiedBytes)} copied server-side, ${formatBytes(x.deletedBytes)} deleted, in ${formatSeconds(x.wallSeconds)}`,
    ...(x.record.shrunk === null ? [] : [`WARNING: much smaller than the previous backup: ${x.record.shrunk}`]),
    ...(x.prune === null ? [] : [renderPrune(x.prune)]),
  ].join('\n');
}

function renderPrune(r: PruneResult): string {
  if (r.decisions.length === 0) return 'No versions.';
  const verb = (a: string): string => (a === 'delete' ? (r.dryRun ? 'would delete' : 'deleted') : 'keep');
  return renderTable(
    ['INSTANCE', 'VERSION', 'ACTION', 'REASON'],
    r.decisions.map((d) => [d.instance, d.version, verb(d.action), d.reason]),
  );
}

export function registerVictoriaMetrics(yargs: Argv, exec: Exec): Argv {
  const bucket = {
    type: 'string',
    default: DEFAULT_BUCKET,
    describe: "bucket of the instance's backups (victoria-metrics-N.backup.bucketName)",
  } as const;
  const tiers = (c: Argv) =>
    c
      .option('keep-daily', {
        type: 'string',
        default: DEFAULT_KEEP_DAILY,
        describe: 'keep the newest version of each of this many last days',
      })
      .option('keep-weekly', {
        type: 'string',
        default: DEFAULT_KEEP_WEEKLY,
        describe: 'keep the newest version of each of this many last weeks',
      });
  return yargs.command(groupNames('victoria-metrics'), storeEntry('victoria-metrics').summary, (y) =>
    y
      .command(
        'backup',
        'incremental backup of a running instance into its current version',
        (c) =>
          documented(
            tiers(c)
              .option('instance', {
                type: 'string',
                demandOption: true,
                describe: 'instance name, e.g. victoria-metrics-0',
              })
              .option('bucket', bucket)
              .option('url', {
                type: 'string',
                demandOption: true,
                describe: "the instance's HTTP address, e.g. http://victoria-metrics-0:8428",
              })
              .option('storage-data-path', {
                type: 'string',
                demandOption: true,
                describe: "the instance's -storageDataPath, mounted here",
              })
              .option('max-bytes-per-second', {
                type: 'string',
                describe: 'limit upload speed (vmbackup -maxBytesPerSecond)',
              })
              .option('prune', {
                type: 'boolean',
                default: true,
                describe:
                  'apply retention after the first backup of each UTC day and when a new version starts (--no-prune: never)',
              })
              .option('wait-seconds', {
                type: 'string',
                default: 60,
                describe: 'how long to wait for the instance to answer',
              })
              .option('shrink-share', shrinkShareOption),
            'victoria-metrics backup',
          ),
        (a) =>
          runs(exec, victoriaMetricsStore.backup, {
            json: (r) => ({ ...r, prune: r.prune === null ? null : victoriaMetricsPruneReport(r.prune) }),
            text: renderBackup,
          })(a),
      )
      .command(
        'list',
        'list versions: instance, version, last completed backup time',
        (c) =>
          documented(
            c
              .option('bucket', bucket)
              .option('instance', {
                type: 'string',
                array: true,
                describe: 'only these instances (repeatable; default: all in the bucket)',
              })
              .option('target', {
                type: 'string',
                array: true,
                describe: 'INSTANCE=BUCKET, for instances with their own buckets (repeatable)',
              }),
            'victoria-metrics list',
          ),
        (a) => runs(exec, victoriaMetricsStore.list, { json: victoriaMetricsBackupList, text: renderVersions })(a),
      )
      .command(
        'restore <instance> <version>',
        "vmrestore a complete version into the (stopped) instance's data folder",
        (c) =>
          documented(
            c
              .positional('instance', { type: 'string' })
              .positional('version', { type: 'string' })
              .option('bucket', bucket)
              .option('storage-data-path', {
                type: 'string',
                demandOption: true,
                describe: "the instance's -storageDataPath, mounted here",
              })
              .option('url', {
                type: 'string',
                describe: "the instance's HTTP address: refuse to restore while it answers",
              }),
            'victoria-metrics restore',
          ),
        (a) =>
          runs(exec, victoriaMetricsStore.restore, {
            text: (x) =>
              `restored ${x.instance} from ${x.version} (last completed backup "${time(x.lastCompletedBackup)}"): ${formatBytes(x.restoredBytes)}, ${formatBytes(x.downloadedBytes)} downloaded, in ${formatSeconds(x.wallSeconds)}`,
          })(a),
      )
      .command(
        'prune',
        'delete versions beyond the daily and weekly tiers (never the one in use)',
        (c) =>
          documented(
            tiers(c)
              .option('bucket', bucket)
              .option('instance', {
                type: 'string',
                array: true,
                describe: 'only these instances (repeatable; default: all in the bucket)',
              })
              .option('storage-data-path', {
                type: 'string',
                describe: 'a mounted data folder: the version its marker names is in use',
              })
              .option('dry-run', { type: 'boolean', default: false, describe: 'only show what would be deleted' }),
            'victoria-metrics prune',
          ),
        (a) => runs(exec, victoriaMetricsStore.prune, { json: victoriaMetricsPruneReport, text: renderPrune })(a),
      )
      .command(
        'check',
        'wait until an instance answers and report its series count',
        (c) =>
          documented(
            c
              .option('url', { type: 'string', demandOption: true, describe: "the instance's HTTP address" })
              .option('timeout-seconds', { type: 'string', default: 300 }),
            'victoria-metrics check',
          ),
        (a) => runs(exec, victoriaMetricsStore.check, { text: (x) => `${x.url} answers: ${x.series} series` })(a),
      )
      .command(
        'drill',
        "restore an instance's newest complete version into a scratch instance, check it against its record, clean up",
        (c) =>
          documented(
            c
              .option('instance', {
                type: 'string',
                demandOption: true,
                describe: 'instance name, e.g. victoria-metrics-0',
              })
              .option('bucket', bucket)
              .option('scratch-dir', scratchDirOption)
              .option('memory-mib', {
                type: 'string',
                default: 256,
                describe: 'memory the scratch victoria-metrics may use (-memory.allowedBytes), MiB',
              })
              .option('start-seconds', {
                type: 'string',
                default: 120,
                describe: 'how long the scratch victoria-metrics may take to answer',
              }),
            'victoria-metrics drill',
          ),
        (a) => runs(exec, victoriaMetricsStore.drill, { text: drillText })(a),
      )
      .demandCommand(1, 'name a victoria-metrics command, e.g. "stackbackup victoria-metrics list"'),
  );
}
