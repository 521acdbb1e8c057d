/**
 * `stackbackup stackgraph <verb>`: backup, list, restore, prune. Thin: yargs options -> the store's
 * validate() -> run() -> printed here (table, one name a line, or --json).
 */
import type { Argv } from 'yargs';
import { DateTime } from 'luxon';
import {
  DEFAULT_BUCKET,
  DEFAULT_FORCE_FLAG,
  DEFAULT_MIN_COUNT,
  DEFAULT_RETENTION,
  runList,
  stackGraphBackupList,
  stackGraphPruneReport,
  stackGraphStore,
  validateList,
  type BackupResult,
  type ListResult,
  type PruneResult,
  type RestoreResult,
} from '../stores/stackgraph/index.js';
import { formatBytes, formatSeconds } from '../util/format.js';
import { section } from '../util/log.js';
import { type CommandContext, type Exec, type Shown, runs } from './context.js';
import { documented } from './help.js';
import { drillText, scratchDirOption, shrinkShareOption } from './drill.js';
import { groupNames } from './groups.js';
import { storeEntry } from '../stores/registry.js';
import { listFormat, renderTable, type ListFormat } from './output.js';

function age(now: DateTime, then: DateTime): string {
  return formatSeconds(Math.max(0, now.diff(then).as('seconds')));
}

function pruneLines(result: PruneResult): string {
  const rows = result.decisions.map((d) => [
    d.name,
    d.takenAt.toUTC().toFormat("yyyy-MM-dd HH:mm 'UTC'"),
    d.action === 'delete' ? (result.dryRun ? 'would delete' : 'deleted') : 'keep',
    d.reason,
  ]);
  const table =
    rows.length === 0
      ? 'no StackGraph backups in the bucket'
      : renderTable(['NAME', 'TAKEN', 'ACTION', 'REASON'], rows);
  const doomed = result.decisions.filter((d) => d.action === 'delete').length;
  const summary = result.dryRun
    ? `dry run: ${doomed} of ${result.decisions.length} would be deleted (retention ${result.retention}, at least ${result.minCount} kept); nothing was deleted`
    : `deleted ${result.deleted.length} of ${result.decisions.length} (retention ${result.retention}, at least ${result.minCount} kept)`;
  return [table, summary, ...result.leftovers.map((l) => `removed ${l}`)].join('\n');
}

export const backupShown: Shown<BackupResult> = {
  json: (result) => ({ ...result, retention: stackGraphPruneReport(result.retention) }),
  text: (result) =>
    [
      `backed up StackGraph as ${result.name} in bucket "${result.bucket}": ${formatBytes(result.size)}, sha256 ${result.sha256}`,
      `export ${formatSeconds(result.exportSeconds)}, upload ${formatSeconds(result.uploadSeconds)}`,
      ...(result.record.shrunk === null
        ? []
        : [`WARNING: much smaller than the previous backup: ${result.record.shrunk}`]),
      result.retention.deleted.length === 0
        ? 'retention: nothing to delete'
        : `retention deleted: ${result.retention.deleted.join(', ')}`,
    ].join('\n'),
};

export function printList(result: ListResult, format: ListFormat, ctx: CommandContext): void {
  const now = ctx.now();
  ctx.printer.result(stackGraphBackupList(result), () => {
    if (format === 'names') return result.backups.map((b) => b.name).join('\n');
    if (result.backups.length === 0) return `no StackGraph backups in bucket "${result.bucket}"`;
    // The FLAG column appears only when a backup is flagged as much smaller than the one before it.
    const flagged = result.backups.some((b) => b.shrunk);
    return renderTable(
      ['NAME', 'SIZE', 'AGE', 'TAKEN', ...(flagged ? ['FLAG'] : [])],
      result.backups.map((b) => [
        b.name,
        formatBytes(b.size),
        age(now, b.takenAt),
        b.takenAt.toUTC().toFormat("yyyy-MM-dd HH:mm 'UTC'"),
        ...(flagged ? [b.shrunk ? 'SHRUNK' : ''] : []),
      ]),
    );
  });
}

function restoreText(r: RestoreResult): string {
  if (!r.imported)
    return `verified ${r.name} (${formatBytes(r.size)}, sha256 ${r.sha256}) and left it at ${r.file} for the import step`;
  const after = r.elementsAfter === undefined ? '' : `; StackGraph now holds ${r.elementsAfter} elements`;
  return `restored StackGraph from ${r.name} (${formatBytes(r.size)}, sha256 verified before import)${after}`;
}

export function registerStackGraph(yargs: Argv, exec: Exec): Argv {
  const bucket = {
    type: 'string',
    default: DEFAULT_BUCKET,
    describe: 'bucket of the StackGraph backups (backup.stackGraph.bucketName)',
  } as const;
  const retention = {
    type: 'string',
    default: DEFAULT_RETENTION,
    describe: 'keep backups this long, Python timedelta syntax (backupRetentionTimeDelta)',
  } as const;
  const minCount = {
    type: 'string',
    default: DEFAULT_MIN_COUNT,
    describe: 'complete backups always kept, whatever their age',
  } as const;
  return yargs.command(groupNames('stackgraph'), storeEntry('stackgraph').summary, (y) =>
    y
      // StackState's `-force` is one word, not the short flags -f -o -r -c -e.
      .parserConfiguration({ 'short-option-groups': false })
      .command(
        'backup',
        'export StackGraph, upload it as sts-backup-YYYYMMDD-HHMM.graph, apply retention',
        (c) =>
          documented(
            c
              .option('bucket', bucket)
              .option('export-command', {
                type: 'string',
                describe:
                  'run this export tool here: JSON array or words; {file} marks the export file (else appended)',
              })
              .option('from-file', {
                type: 'string',
                describe: "upload this export, written by another container (the chart's CronJob)",
              })
              .option('work-dir', { type: 'string', default: '.', describe: 'folder the export command writes into' })
              .option('retention', retention)
              .option('min-count', minCount)
              .option('count-command', {
                type: 'string',
                describe: 'prints the number of elements StackGraph holds, recorded with the backup for drills',
              })
              .option('shrink-share', shrinkShareOption),
            'stackgraph backup',
          ),
        (a) => runs(exec, stackGraphStore.backup, backupShown)(a),
      )
      .command(
        'list',
        'list the complete StackGraph backups, newest first',
        (c) =>
          documented(
            c.option('bucket', bucket).option('format', {
              choices: ['table', 'names'],
              default: 'table',
              describe: 'table (name, size, age) or names (one a line, as StackState prints them)',
            }),
            'stackgraph list',
          ),
        (a) =>
          exec(
            () => ({ ...validateList(a), format: listFormat(a.format) }),
            async (o, ctx) => {
              section(`Listing StackGraph backups in bucket "${o.bucket}"...`);
              const result = await runList(o, ctx);
              if (result.incomplete.length > 0) {
                section(
                  `${result.incomplete.length} incomplete upload(s) not listed (cut-off runs, not restorable; retention removes them): ${result.incomplete.join(', ')}`,
                );
              }
              printList(result, o.format, ctx);
            },
          ),
      )
      .command(
        'restore <name>',
        'restore a backup: verify its checksum, refuse a non-empty StackGraph unless -force, import',
        (c) =>
          documented(
            c
              .positional('name', { type: 'string', describe: 'backup name, as printed by list' })
              .option('bucket', bucket)
              .option('force', {
                type: 'boolean',
                default: false,
                describe: 'replace a non-empty StackGraph (also -force)',
              })
              .option('count-command', {
                type: 'string',
                describe: 'prints the number of elements StackGraph holds (emptiness check)',
              })
              .option('count-file', {
                type: 'string',
                describe: 'file holding that number, written by another container',
              })
              .option('import-command', {
                type: 'string',
                describe:
                  'run this import tool here: JSON array or words; {file} marks the backup file (else appended)',
              })
              .option('force-flag', {
                type: 'string',
                default: DEFAULT_FORCE_FLAG,
                describe: 'appended to the import command with -force',
              })
              .option('download-to', {
                type: 'string',
                describe: 'only download and verify to this file; another container imports it',
              })
              .option('work-dir', {
                type: 'string',
                default: '.',
                describe: 'folder the backup is downloaded into before the import command runs',
              }),
            'stackgraph restore',
          ),
        (a) => runs(exec, stackGraphStore.restore, { text: restoreText })(a),
      )
      .command(
        'prune',
        'apply retention now (what every scheduled backup does after uploading)',
        (c) =>
          documented(
            c
              .option('bucket', bucket)
              .option('retention', retention)
              .option('min-count', minCount)
              .option('dry-run', { type: 'boolean', default: false, describe: 'only show what would be deleted' }),
            'stackgraph prune',
          ),
        (a) => runs(exec, stackGraphStore.prune, { json: stackGraphPruneReport, text: pruneLines })(a),
      )
      .command(
        'drill',
        'restore the newest backup into a scratch instance, check it against its record, clean up',
        (c) =>
          documented(
            c
              .option('bucket', bucket)
              .option('import-command', {
                type: 'string',
                describe: 'imports {file} into the scratch instance {scratch} (backup.stackGraph.drill.importCommand)',
              })
              .option('count-command', {
                type: 'string',
                describe: "prints the scratch instance's element count (backup.stackGraph.drill.countCommand)",
              })
              .option('scratch-dir', scratchDirOption),
            'stackgraph drill',
          ),
        (a) => runs(exec, stackGraphStore.drill, { text: drillText })(a),
      )
      .demandCommand(1, 'name a stackgraph command: backup, list, restore, prune or drill'),
  );
}
