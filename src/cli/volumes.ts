/**
 * `stackbackup volumes <verb>`: backup, list, restore, prune, check, dispatch. Thin: yargs options ->
 * the store's validate*() -> run*(), then prints the returned data (a table or JSON).
 */
import type { Argv } from 'yargs';
import { DateTime } from 'luxon';
import {
  DEFAULT_BUCKET,
  DEFAULT_OWNER_KEY,
  DEFAULT_PREFIX,
  DEFAULT_RETENTION,
  DEFAULT_SAMPLE,
  volumesBackupList,
  volumesPruneReport,
  volumesStore,
  type BackupResult,
  type DispatchResult,
  type ListResult,
  type PruneResult,
  type RestoreResult,
} from '../stores/volumes/index.js';
import { formatBytes, formatSeconds } from '../util/format.js';
import { type Exec, runs } from './context.js';
import { documented } from './help.js';
import { groupNames } from './groups.js';
import { storeEntry } from '../stores/registry.js';
import { renderTable } from './output.js';
import { drillText, scratchDirOption, shrinkShareOption } from './drill.js';

const utc = (iso: string): string => DateTime.fromISO(iso, { zone: 'utc' }).toFormat("yyyy-MM-dd HH:mm:ss 'UTC'");

export function renderSnapshots(r: ListResult): string {
  if (r.snapshots.length === 0)
    return r.claim === null
      ? `No volume snapshots in ${r.repository}.`
      : `No snapshots of claim ${r.claim} in ${r.repository}.`;
  // The FLAG column appears only when a snapshot is flagged as much smaller than the claim's previous one.
  const flagged = r.snapshots.some((s) => s.shrunk);
  return renderTable(
    ['CLAIM', 'SNAPSHOT', 'TIME', 'OWNER', ...(flagged ? ['FLAG'] : [])],
    r.snapshots.map((s) => [
      s.claim,
      s.shortId,
      utc(s.time),
      s.owner ?? '-',
      ...(flagged ? [s.shrunk ? 'SHRUNK' : ''] : []),
    ]),
  );
}

function renderBackup(r: BackupResult): string {
  const lines = [
    `claim ${r.claim}: snapshot ${r.shortId}${r.partial ? ' (PARTIAL: some files could not be read)' : ''}, tags ${r.tags.join(',')}`,
    `${r.filesNew} new, ${r.filesChanged} changed, ${r.filesUnmodified} unchanged files; ${formatBytes(r.bytesProcessed)} read, ${formatBytes(r.bytesAdded)} added to the repository, in ${formatSeconds(r.seconds)}`,
  ];
  if (r.retention)
    lines.push(
      `retention (${r.retention.policy}): kept ${r.retention.kept.length}, removed ${r.retention.removed.length} snapshot(s) of ${r.claim}`,
    );
  if (r.retentionSkipped) lines.push(`retention skipped: ${r.retentionSkipped}`);
  if (r.record.shrunk !== null) lines.push(`WARNING: much smaller than the previous snapshot: ${r.record.shrunk}`);
  return lines.join('\n');
}

function renderRestore(r: RestoreResult): string {
  const into = r.targetClaim === r.claim ? `claim ${r.claim}` : `claim ${r.targetClaim} (from claim ${r.claim})`;
  return `restored snapshot ${r.shortId} of ${utc(r.time)} into ${into}: ${r.files} files, ${formatBytes(r.bytes)}${r.removed > 0 ? `; ${r.removed} entries removed first (-force)` : ''}`;
}

function renderPrune(r: PruneResult): string {
  if (r.claims.length === 0) return `No claims with snapshots in ${r.repository}.`;
  const table = renderTable(
    ['CLAIM', r.dryRun ? 'WOULD KEEP' : 'KEPT', r.dryRun ? 'WOULD REMOVE' : 'REMOVED'],
    r.claims.map((c) => [c.claim, c.kept.length, c.removed.length]),
  );
  const own = r.claims
    .filter((c) => c.policy !== r.policy)
    .map((c) => `\n${c.claim}: its own policy, ${c.policy}`)
    .join('');
  return `${table}\n${r.policy}, per claim${r.dryRun ? ' (dry run: nothing removed)' : r.pruned ? '; unused data pruned' : ''}${own}`;
}

function renderDispatch(r: DispatchResult): string {
  if (r.claims.length === 0) return `No claims to back up in namespace ${r.namespace}.`;
  return renderTable(
    ['CLAIM', 'AT', 'OWNER', 'NODE', 'JOB', 'STATUS'],
    r.claims.map((c) => [
      c.claim,
      utc(c.at),
      c.owner ?? '-',
      c.node ?? '-',
      c.job ?? '-',
      c.reason ? `${c.status} (${c.reason})` : c.status,
    ]),
  );
}

export function registerVolumes(yargs: Argv, exec: Exec): Argv {
  const repository = (c: Argv) =>
    c
      .option('bucket', {
        type: 'string',
        default: DEFAULT_BUCKET,
        describe: 'bucket of the restic repository (backup.volumes.bucketName)',
      })
      .option('prefix', {
        type: 'string',
        default: DEFAULT_PREFIX,
        describe: "the repository's prefix in the bucket (backup.volumes.repository.prefix)",
      })
      .option('password-file', {
        type: 'string',
        describe: 'file holding the repository password (default: $STACKBACKUP_RESTIC_PASSWORD_FILE)',
      })
      .option('host', {
        type: 'string',
        describe: 'restic host of the snapshots (the chart uses the namespace); others are never touched',
      });
  const keep = (c: Argv) =>
    c
      .option('keep-last', {
        type: 'string',
        default: DEFAULT_RETENTION.keepLast,
        describe: 'keep the last N snapshots of each claim',
      })
      .option('keep-hourly', {
        type: 'string',
        default: DEFAULT_RETENTION.keepHourly,
        describe: 'keep the newest snapshot of each of the last N hours with snapshots, per claim',
      })
      .option('keep-daily', {
        type: 'string',
        default: DEFAULT_RETENTION.keepDaily,
        describe: '... of the last N days, per claim',
      })
      .option('keep-weekly', {
        type: 'string',
        default: DEFAULT_RETENTION.keepWeekly,
        describe: '... of the last N weeks, per claim',
      })
      .option('keep-monthly', {
        type: 'string',
        default: DEFAULT_RETENTION.keepMonthly,
        describe: '... of the last N months, per claim',
      })
      .option('keep-yearly', {
        type: 'string',
        default: DEFAULT_RETENTION.keepYearly,
        describe: '... of the last N years, per claim',
      })
      .option('claim-retention', {
        type: 'string',
        array: true,
        describe:
          "CLAIM:RULE=N[,RULE=N...] (repeatable): that claim's rules instead of the --keep-* ones, e.g. claim-alice:keepDaily=30,keepLast=5 (backup.volumes.claimRetention)",
      })
      .option('lock-wait-seconds', {
        type: 'string',
        default: 600,
        describe: 'how long forget and prune wait while other runs hold the repository',
      });
  return yargs.command(groupNames('volumes'), storeEntry('volumes').summary, (y) =>
    y
      // `-force` is one word, as in the other restore commands.
      .parserConfiguration({ 'short-option-groups': false })
      .command(
        'backup',
        "back up one claim's folder, tagged claim=<name> and owner=<user>, then apply its retention",
        (c) =>
          documented(
            keep(repository(c))
              .option('claim', {
                type: 'string',
                demandOption: true,
                describe: "the PersistentVolumeClaim's name (tag claim=<name>)",
              })
              .option('path', {
                type: 'string',
                demandOption: true,
                describe: 'where the claim is mounted (read-only is enough)',
              })
              .option('owner', { type: 'string', describe: "the claim's owner (tag owner=<user>); empty: unknown" })
              .option('exclude', {
                type: 'string',
                array: true,
                describe: 'restic exclude pattern (repeatable), e.g. .cache',
              })
              .option('prune', {
                type: 'boolean',
                default: true,
                describe: "apply the claim's retention after the backup (--no-prune to skip)",
              })
              .option('shrink-share', shrinkShareOption),
            'volumes backup',
          ),
        (a) => runs(exec, volumesStore.backup, { text: renderBackup })(a),
      )
      .command(
        'list [claim]',
        'list the snapshots of every claim (or of CLAIM), newest first',
        (c) =>
          documented(
            repository(c).positional('claim', { type: 'string', describe: 'only this claim' }),
            'volumes list',
          ),
        (a) => runs(exec, volumesStore.list, { json: volumesBackupList, text: renderSnapshots })(a),
      )
      .command(
        'restore <claim> <snapshot>',
        'restore a snapshot of CLAIM ("latest": its newest) into a mounted claim folder',
        (c) =>
          documented(
            repository(c)
              .positional('claim', { type: 'string', describe: 'the claim whose snapshot is restored' })
              .positional('snapshot', {
                type: 'string',
                describe: 'snapshot ID as list prints it, or latest (the newest of CLAIM)',
              })
              .option('path', { type: 'string', demandOption: true, describe: 'where the target claim is mounted' })
              .option('target-claim', {
                type: 'string',
                describe: 'the claim mounted at --path, when it is another claim',
              })
              .option('force', {
                type: 'boolean',
                default: false,
                describe: 'replace the contents of a non-empty target (also -force)',
              }),
            'volumes restore',
          ),
        (a) => runs(exec, volumesStore.restore, { text: renderRestore })(a),
      )
      .command(
        'prune',
        'apply the retention policy to each claim separately, then free unused data',
        (c) =>
          documented(
            keep(repository(c))
              .option('claim', {
                type: 'string',
                array: true,
                describe: 'only these claims (default: every claim with snapshots)',
              })
              .option('dry-run', { type: 'boolean', default: false, describe: 'only show what would be removed' })
              .option('prune', {
                type: 'boolean',
                default: true,
                describe: 'run restic prune after forgetting (--no-prune: forget only)',
              }),
            'volumes prune',
          ),
        (a) => runs(exec, volumesStore.prune, { json: volumesPruneReport, text: renderPrune })(a),
      )
      .command(
        'check',
        'remove stale locks, then restic check, reading a subset of the data',
        (c) =>
          documented(
            repository(c).option('read-data-subset', {
              type: 'string',
              default: '5%',
              describe: 'part of the data to download and verify: N% or n/t; 0 for structure only',
            }),
            'volumes check',
          ),
        (a) =>
          runs(exec, volumesStore.check, {
            text: (x) =>
              `repository ${x.repository}: no errors${x.readDataSubset ? ` (read ${x.readDataSubset} of the data)` : ''}`,
          })(a),
      )
      .command(
        'drill',
        'restore the newest snapshot of a rotating sample of claims into a scratch folder, compare files and bytes with their records, restic check',
        (c) =>
          documented(
            repository(c)
              .option('sample', {
                type: 'string',
                default: DEFAULT_SAMPLE,
                describe: 'claims restored per run; the next run continues with the next claims by name',
              })
              .option('read-data-subset', {
                type: 'string',
                default: '1/10',
                describe: 'restic check --read-data-subset after the restores: N% or n/t; 0 for structure only',
              })
              .option('scratch-dir', scratchDirOption)
              .option('lock-wait-seconds', {
                type: 'string',
                default: 600,
                describe: 'how long the check waits while other runs hold the repository',
              }),
            'volumes drill',
          ),
        (a) => runs(exec, volumesStore.drill, { text: drillText })(a),
      )
      .command(
        'dispatch',
        "create each claim's backup Job at its staggered time in the window (the chart's CronJob runs this)",
        (c) =>
          documented(
            repository(c)
              .option('claim', {
                type: 'string',
                array: true,
                describe: 'claims to back up by name (repeatable or comma-separated)',
              })
              .option('selector', { type: 'string', describe: 'and/or every claim matching this label selector' })
              .option('owner-key', {
                type: 'string',
                default: DEFAULT_OWNER_KEY,
                describe: 'label or annotation of the claim naming its owner',
              })
              .option('window', {
                type: 'string',
                default: '2h',
                describe: 'length of the backup window: 2h, 90m, 1h30m, 45s',
              })
              .option('template-config-map', {
                type: 'string',
                demandOption: true,
                describe: 'ConfigMap with the backup Job template (job.json)',
              })
              .option('job-prefix', { type: 'string', default: 'volume-backup', describe: 'prefix of the Job names' })
              .option('namespace', { type: 'string', describe: "namespace of the claims (default: the pod's own)" })
              .option('dry-run', { type: 'boolean', default: false, describe: "only print each claim's time" }),
            'volumes dispatch',
          ),
        (a) => runs(exec, volumesStore.dispatch, { text: renderDispatch })(a),
      )
      .demandCommand(1, 'name a volumes command: backup, list, restore, prune, check, drill or dispatch'),
  );
}
