/**
 * `stackbackup elasticsearch <verb>` (alias `es`): configure, backup, list, restore, prune. Thin: yargs
 * options -> the store's validate*() -> run*(), then prints the returned data here (a table, one name a
 * line, or --json).
 */
import type { Argv } from 'yargs';
import type { DateTime } from 'luxon';
import { ELASTICSEARCH_REPOSITORY, elasticsearchListTime } from '../storage/layout.js';
import {
  DEFAULT_BUCKET,
  DEFAULT_EXPIRE_AFTER,
  DEFAULT_INDICES,
  DEFAULT_MAX_COUNT,
  DEFAULT_MIN_COUNT,
  DEFAULT_SCHEDULE,
  DEFAULT_TIMEOUT_SECONDS,
  elasticsearchBackupList,
  elasticsearchPruneReport,
  elasticsearchStore,
  runList,
  validateList,
  type BackupResult,
  type ConfigureResult,
  type ListResult,
  type PruneResult,
  type RestoreResult,
} from '../stores/elasticsearch/index.js';
import { formatBytes, formatSeconds } from '../util/format.js';
import { section } from '../util/log.js';
import { type CommandContext, type Exec, runs } from './context.js';
import { documented } from './help.js';
import { drillText, shrinkShareOption } from './drill.js';
import { groupNames } from './groups.js';
import { storeEntry } from '../stores/registry.js';
import { listFormat, renderTable, type ListFormat } from './output.js';

const shown = (t: DateTime | undefined): string => (t === undefined ? '-' : elasticsearchListTime(t));

export function renderSnapshots(result: ListResult, format: ListFormat): string {
  if (format === 'names') return result.snapshots.map((s) => s.name).join('\n');
  if (result.snapshots.length === 0) return `no snapshots in repository "${result.repository}"`;
  // The FLAG column appears only when a snapshot is flagged as much smaller than the one before it.
  const flagged = result.snapshots.some((s) => s.shrunk);
  return renderTable(
    ['NAME', 'STATE', 'INDICES', 'START', 'END', 'SIZE', ...(flagged ? ['FLAG'] : [])],
    result.snapshots.map((s) => [
      s.name,
      s.state,
      s.indices.length,
      shown(s.startTime),
      shown(s.endTime),
      s.sizeBytes === undefined ? '-' : formatBytes(s.sizeBytes),
      ...(flagged ? [s.shrunk ? 'SHRUNK' : ''] : []),
    ]),
  );
}

function renderPrune(r: PruneResult): string {
  const verb = (a: string): string => (a === 'delete' ? (r.dryRun ? 'would delete' : 'deleted') : 'keep');
  const table =
    r.decisions.length === 0
      ? `no snapshots of ours in repository "${r.repository}"`
      : renderTable(
          ['NAME', 'TAKEN', 'ACTION', 'REASON'],
          r.decisions.map((d) => [
            d.name,
            d.takenAt.toUTC().toFormat("yyyy-MM-dd HH:mm 'UTC'"),
            verb(d.action),
            d.reason,
          ]),
        );
  const doomed = r.decisions.filter((d) => d.action === 'delete').length;
  const policy = `expire_after ${r.expireAfter}, min_count ${r.minCount}, max_count ${r.maxCount}`;
  const summary = r.dryRun
    ? `dry run: ${doomed} of ${r.decisions.length} would be deleted (${policy}); nothing was deleted`
    : `deleted ${r.deleted.length} of ${r.decisions.length} (${policy})`;
  return `${table}\n${summary}`;
}

function renderConfigure(r: ConfigureResult): string {
  const lines = [
    `repository "${r.repository}" (${r.body?.type ?? '?'}) registered in Elasticsearch at ${r.url}${r.verifiedBy.length > 0 ? `, verified by ${r.verifiedBy.join(', ')}` : ', not verified'}`,
  ];
  if (r.policy !== null) {
    lines.push(
      `SLM policy "${r.policy.policy_id}": schedule "${r.policy.schedule}", name ${r.policy.name}, retention expire_after ${r.policy.retention?.expire_after}, min_count ${r.policy.retention?.min_count}, max_count ${r.policy.retention?.max_count} (SLM ${r.slmMode})`,
    );
  } else {
    const who =
      r.engine === 'cronjob'
        ? "engine cronjob: the chart's CronJob takes the snapshots"
        : 'no scheduled snapshots (restores only)';
    lines.push(`${who}${r.removedPolicy ? ' (our SLM policy was removed)' : ''}`);
  }
  return lines.join('\n');
}

function renderBackup(r: BackupResult): string {
  return [
    ...(r.record.shrunk === null ? [] : [`WARNING: much smaller than the previous snapshot: ${r.record.shrunk}`]),
    `snapshot ${r.name} ${r.state} in repository "${r.repository}": ${r.indices.length} ${r.indices.length === 1 ? 'index' : 'indices'}, shards total ${r.shards.total}, failed ${r.shards.failed}, successful ${r.shards.successful}, in ${formatSeconds(r.seconds)}`,
    ...(r.retention === null ? ['retention: skipped (--no-prune)'] : [renderPrune(r.retention)]),
  ].join('\n');
}

function renderRestore(r: RestoreResult): string {
  return [
    ...(r.deleted.length > 0 ? [`deleted first (-force): ${r.deleted.join(', ')}`] : []),
    ...(r.closed.length > 0 ? [`closed first (-force): ${r.closed.join(', ')}`] : []),
    `restored ${r.indices.length} ${r.indices.length === 1 ? 'index' : 'indices'} from snapshot ${r.snapshot}: ${r.indices.join(', ')}`,
    `shards: total ${r.shards.total}, failed ${r.shards.failed}, successful ${r.shards.successful} (${formatSeconds(r.seconds)})`,
  ].join('\n');
}

export function registerElasticsearch(yargs: Argv, exec: Exec): Argv {
  const url = {
    type: 'string',
    describe: 'Elasticsearch HTTP address (backup.elasticsearch.url; else STACKBACKUP_ES_URL)',
  } as const;
  const repository = {
    type: 'string',
    default: ELASTICSEARCH_REPOSITORY,
    describe: 'snapshot repository name',
  } as const;
  const indices = {
    type: 'string',
    default: DEFAULT_INDICES,
    describe:
      'indices to snapshot: comma-separated names and patterns, or a JSON array (backup.elasticsearch.scheduled.indices)',
  } as const;
  const retention = (c: Argv) =>
    c
      .option('expire-after', {
        type: 'string',
        default: DEFAULT_EXPIRE_AFTER,
        describe: 'snapshots older than this are deleted, Elasticsearch time unit (snapshotRetentionExpireAfter)',
      })
      .option('min-count', {
        type: 'string',
        default: DEFAULT_MIN_COUNT,
        describe: 'successful snapshots kept whatever their age (snapshotRetentionMinCount)',
      })
      .option('max-count', {
        type: 'string',
        default: DEFAULT_MAX_COUNT,
        describe: 'successful snapshots kept at most (snapshotRetentionMaxCount)',
      });
  const timeout = {
    type: 'string',
    default: DEFAULT_TIMEOUT_SECONDS,
    describe: 'how long to wait for Elasticsearch to finish',
  } as const;
  const bucket = {
    type: 'string',
    default: DEFAULT_BUCKET,
    describe: 'bucket of the snapshot records and drill results (backup.elasticsearch.bucketName)',
  } as const;
  return yargs.command(groupNames('elasticsearch'), storeEntry('elasticsearch').summary, (y) =>
    y
      // StackState's `-force` is one word, not the short flags -f -o -r -c -e.
      .parserConfiguration({ 'short-option-groups': false })
      .command(
        'configure',
        'register and verify the snapshot repository, then put the SLM policy (engine slm) or remove it (engines cronjob, none); safe to rerun',
        (c) =>
          documented(
            retention(
              c
                .option('url', url)
                .option('repository', repository)
                .option('repository-type', {
                  choices: ['s3', 'fs'],
                  default: 's3',
                  describe: 'repository type: s3 (the bucket) or fs (a folder in path.repo of every node)',
                })
                .option('bucket', {
                  type: 'string',
                  default: DEFAULT_BUCKET,
                  describe: 'bucket of the repository (backup.elasticsearch.bucketName)',
                })
                .option('client', {
                  type: 'string',
                  default: 'default',
                  describe: 'S3 client of the nodes whose keystore holds the credentials (s3.client.<client>.*)',
                })
                .option('base-path', { type: 'string', describe: 'folder inside the bucket (default: its root)' })
                .option('s3-endpoint', {
                  type: 'string',
                  describe: 'http(s)://host:port where Elasticsearch reaches S3 (default: STACKBACKUP_S3_ENDPOINT)',
                })
                .option('path-style-access', {
                  type: 'boolean',
                  default: true,
                  describe: 'path-style bucket addressing (MinIO, gateways)',
                })
                .option('inline-credentials', {
                  type: 'boolean',
                  default: false,
                  describe: 'send the S3 credentials in the repository settings (older Elasticsearch only)',
                })
                .option('location', { type: 'string', describe: 'fs repositories: the shared folder' })
                .option('verify', {
                  type: 'boolean',
                  default: true,
                  describe: 'verify the repository on every node (--no-verify to skip)',
                })
                .option('engine', {
                  choices: ['slm', 'cronjob', 'none'],
                  default: 'slm',
                  describe: "who takes the snapshots: Elasticsearch SLM, the chart's CronJob, or none (restores only)",
                })
                .option('schedule', {
                  type: 'string',
                  default: DEFAULT_SCHEDULE,
                  describe: 'Elasticsearch cron schedule of the SLM policy',
                })
                .option('indices', indices),
            ),
            'elasticsearch configure',
          ),
        (a) => runs(exec, elasticsearchStore.configure, { text: renderConfigure })(a),
      )
      .command(
        'backup',
        "take a snapshot now and apply retention (the cronjob engine's scheduled run)",
        (c) =>
          documented(
            retention(c.option('url', url).option('repository', repository).option('indices', indices))
              .option('prune', {
                type: 'boolean',
                default: true,
                describe: 'apply retention after the snapshot (--no-prune to skip)',
              })
              .option('timeout-seconds', timeout)
              .option('bucket', bucket)
              .option('shrink-share', shrinkShareOption),
            'elasticsearch backup',
          ),
        (a) =>
          runs(exec, elasticsearchStore.backup, {
            json: (r) => ({ ...r, retention: r.retention === null ? null : elasticsearchPruneReport(r.retention) }),
            text: renderBackup,
          })(a),
      )
      .command(
        'list',
        'list the snapshots in the repository, newest first',
        (c) =>
          documented(
            c
              .option('url', url)
              .option('repository', repository)
              .option('bucket', {
                type: 'string',
                describe: 'bucket of the snapshot records: show SHRUNK flags (backup.elasticsearch.bucketName)',
              })
              .option('format', {
                choices: ['table', 'names'],
                default: 'table',
                describe:
                  'table (state, index count, start, end, size) or names (one a line, as StackState prints them)',
              }),
            'elasticsearch list',
          ),
        (a) =>
          exec(
            () => ({ ...validateList(a), format: listFormat(a.format) }),
            async (o, ctx: CommandContext) => {
              section(
                `Listing Elasticsearch snapshots in snapshot repository "${o.repository}" of ${o.connection.url.origin}...`,
              );
              const r = await runList(o, ctx);
              ctx.printer.result(elasticsearchBackupList(r), () => renderSnapshots(r, o.format));
            },
          ),
      )
      .command(
        'restore <name> [indices]',
        'restore chosen indices of a snapshot; refuses to replace open indices unless -force',
        (c) =>
          documented(
            c
              .positional('name', { type: 'string', describe: 'snapshot name, as printed by list' })
              .positional('indices', {
                type: 'string',
                describe: 'comma-separated indices or patterns (default: --default-indices)',
              })
              .option('url', url)
              .option('repository', repository)
              .option('default-indices', {
                type: 'string',
                default: DEFAULT_INDICES,
                describe: 'what to restore when no indices are named (backup.elasticsearch.scheduled.indices)',
              })
              .option('force', {
                type: 'boolean',
                default: false,
                describe: 'replace existing open indices (also -force)',
              })
              .option('force-mode', {
                choices: ['delete', 'close'],
                default: 'delete',
                describe: 'with -force: delete the existing indices, or close them (same shard count needed)',
              })
              .option('timeout-seconds', timeout),
            'elasticsearch restore',
          ),
        (a) => runs(exec, elasticsearchStore.restore, { text: renderRestore })(a),
      )
      .command(
        'prune',
        'apply retention now (what every cronjob-engine snapshot does afterwards)',
        (c) =>
          documented(
            retention(c.option('url', url).option('repository', repository)).option('dry-run', {
              type: 'boolean',
              default: false,
              describe: 'only show what would be deleted',
            }),
            'elasticsearch prune',
          ),
        (a) => runs(exec, elasticsearchStore.prune, { json: elasticsearchPruneReport, text: renderPrune })(a),
      )
      .command(
        'drill',
        'restore the newest successful snapshot as drill-<index> indices, compare documents with its record, delete them',
        (c) =>
          documented(
            c
              .option('url', url)
              .option('repository', repository)
              .option('bucket', bucket)
              .option('timeout-seconds', timeout),
            'elasticsearch drill',
          ),
        (a) => runs(exec, elasticsearchStore.drill, { text: drillText })(a),
      )
      .demandCommand(1, 'name an elasticsearch command: configure, backup, list, restore, prune or drill'),
  );
}
