/**
 * What every command's --help ends with: one or two examples and the exit codes, so that an operator
 * reading the help at 3 a.m. sees how the command is run and what its exit code means.
 */
import type { Argv } from 'yargs';
import { ExitCode } from '../util/errors.js';

/** Examples per command (`<group> <verb>`), as an operator or the chart's jobs run them. */
export const EXAMPLES: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  demo: [['$0 demo', 'back up and restore sample data of every store in .stackbackup/demo']],
  'storage check': [
    [
      '$0 storage check --bucket sts-stackgraph-backup',
      'is the endpoint reachable, are the credentials and the bucket right?',
    ],
  ],
  'storage init': [
    [
      '$0 storage init --bucket sts-stackgraph-backup --bucket sts-volume-backup',
      'create the buckets that are missing',
    ],
  ],
  'storage ls': [
    ['$0 storage ls --bucket sts-stackgraph-backup --json', 'every object with its size, time and completeness'],
  ],
  'storage upload': [
    [
      '$0 storage upload --bucket sts-stackgraph-backup export.graph sts-backup-20260101-0300.graph',
      'upload with a published checksum',
    ],
  ],
  'storage download': [
    [
      '$0 storage download --bucket sts-stackgraph-backup sts-backup-20260101-0300.graph /tmp/backup.graph',
      'download and verify',
    ],
  ],
  'storage cleanup': [
    ['$0 storage cleanup --bucket sts-stackgraph-backup --dry-run', 'which leftovers of cut-off uploads would go'],
  ],
  'stackgraph backup': [
    [
      '$0 stackgraph backup --export-command \'["stackstate-server","-export","{file}"]\'',
      'export, upload, apply retention',
    ],
    [
      '$0 stackgraph backup --from-file /scratch/stackgraph-export.graph --retention days=14',
      'upload an export another container wrote',
    ],
  ],
  'stackgraph list': [
    ['$0 stackgraph list', 'the complete backups, newest first'],
    ['$0 stackgraph list --format names', 'one name a line, as StackState prints them'],
  ],
  'stackgraph restore': [
    [
      '$0 stackgraph restore sts-backup-20260101-0300.graph --import-command \'["stackstate-server","-import","{file}"]\'',
      'refused when StackGraph is not empty',
    ],
    [
      '$0 stackgraph restore sts-backup-20260101-0300.graph -force --import-command \'["stackstate-server","-import","{file}"]\'',
      'replace what StackGraph holds',
    ],
  ],
  'stackgraph prune': [
    ['$0 stackgraph prune --dry-run', 'what the retention would delete now'],
    ['$0 stackgraph prune --retention days=14 --min-count 5', 'apply another retention'],
  ],
  'stackgraph drill': [
    [
      `$0 stackgraph drill --import-command '["sts-graph-standin","-db","{scratch}/graph.db","-import","{file}"]' --count-command '["sts-graph-standin","-db","{scratch}/graph.db","-count"]'`,
      'restore the newest backup into a scratch instance and compare its element count with the record',
    ],
  ],
  'elasticsearch drill': [
    [
      '$0 elasticsearch drill --url http://stackstate-elasticsearch-master:9200',
      'restore the newest snapshot as drill-* indices, compare document counts with its record, delete them',
    ],
  ],
  'victoria-metrics drill': [
    [
      '$0 victoria-metrics drill --instance victoria-metrics-0 --scratch-dir /scratch',
      'restore the newest complete version into a scratch instance and compare its series with the record',
    ],
  ],
  'victoria-metrics backup': [
    [
      '$0 victoria-metrics backup --instance victoria-metrics-0 --url http://victoria-metrics-0:8428 --storage-data-path /storage',
      'an incremental backup into the current version',
    ],
  ],
  'victoria-metrics list': [
    ['$0 victoria-metrics list', "every instance's versions"],
    ['$0 victoria-metrics list --instance victoria-metrics-0 --json', 'one instance, machine-readable'],
  ],
  'victoria-metrics restore': [
    [
      '$0 victoria-metrics restore victoria-metrics-0 victoria-metrics-0-20260101030000 --storage-data-path /storage',
      'with the instance scaled down',
    ],
  ],
  'victoria-metrics prune': [
    ['$0 victoria-metrics prune --dry-run', 'which versions the daily and weekly tiers would delete'],
  ],
  'victoria-metrics check': [
    ['$0 victoria-metrics check --url http://victoria-metrics-0:8428', 'wait until the instance answers'],
  ],
  'elasticsearch configure': [
    [
      '$0 elasticsearch configure --url http://elasticsearch:9200 --bucket sts-elasticsearch-backup',
      'register the repository and put the SLM policy',
    ],
  ],
  'elasticsearch backup': [
    ['$0 elasticsearch backup --url http://elasticsearch:9200 --indices "sts*"', 'a snapshot now, then retention'],
  ],
  'elasticsearch list': [['$0 elasticsearch list --url http://elasticsearch:9200', 'the snapshots, newest first']],
  'elasticsearch restore': [
    [
      '$0 elasticsearch restore sts-backup-20260101-0300-abc --url http://elasticsearch:9200 "sts_topology*"',
      'restore chosen indices (refused over open ones)',
    ],
    [
      '$0 elasticsearch restore sts-backup-20260101-0300-abc --url http://elasticsearch:9200 -force',
      'replace the default indices',
    ],
  ],
  'elasticsearch prune': [
    ['$0 elasticsearch prune --url http://elasticsearch:9200 --dry-run', 'what the retention would delete'],
  ],
  'volumes backup': [
    [
      '$0 volumes backup --claim claim-alice --path /volumes/claim-alice --owner alice',
      'one claim, then its retention',
    ],
  ],
  'volumes list': [
    ['$0 volumes list', "every claim's snapshots"],
    ['$0 volumes list claim-alice --json', 'one claim, machine-readable'],
  ],
  'volumes restore': [
    ['$0 volumes restore claim-alice latest --path /volumes/restore-target', 'the newest snapshot into an empty claim'],
    [
      '$0 volumes restore claim-alice 1a2b3c4d --path /volumes/restore-target --target-claim claim-alice-copy -force',
      'into another, non-empty claim',
    ],
  ],
  'volumes prune': [
    ['$0 volumes prune --dry-run', "what each claim's retention would remove"],
    ['$0 volumes prune --claim claim-alice --no-prune', 'forget only, for one claim'],
  ],
  'volumes check': [
    ['$0 volumes check --read-data-subset 5%', 'stale locks, structure, and 5 % of the data read back'],
  ],
  'volumes drill': [
    [
      '$0 volumes drill --sample 3 --read-data-subset 1/10 --scratch-dir /scratch',
      "restore the next 3 claims' newest snapshots into a scratch folder, compare files and bytes, restic check",
    ],
  ],
  'volumes dispatch': [
    [
      '$0 volumes dispatch --template-config-map volume-backup-template --claim claim-alice,claim-bob --dry-run',
      "when each claim's Job would start",
    ],
  ],
  status: [
    ['$0 status --targets targets.json', 'every backup target and its state; exit 1 when any is not ok'],
    ['$0 status --targets targets.json --json', 'the same, machine-readable'],
  ],
  'metrics serve': [
    ['$0 metrics serve --targets targets.json --port 9469 --interval 300', 'serve /metrics for Prometheus'],
  ],
};

/** The exit codes, one a line, as every --help ends. */
export function exitCodesText(): string {
  const meaning: Record<keyof typeof ExitCode, string> = {
    ok: 'done',
    failure: 'failed (the message says why)',
    usage: 'bad argument or value: nothing was changed',
    notFound: 'not found (backup, object, program)',
    unreachable: 'endpoint unreachable',
    credentials: 'credentials refused',
    bucketMissing: 'bucket missing',
    integrity: 'integrity: corrupt or incomplete backup',
    conflict: 'conflict: non-empty target without -force',
    noSpace: 'no space left',
    interrupted: 'interrupted',
  };
  const lines = (Object.keys(ExitCode) as (keyof typeof ExitCode)[]).map(
    (k) => `  ${String(ExitCode[k]).padStart(3)}  ${meaning[k]}`,
  );
  return ['Exit codes:', ...lines].join('\n');
}

/** Adds a command's examples and the exit codes to its --help. */
export function documented<T>(command: Argv<T>, name: string): Argv<T> {
  const examples = EXAMPLES[name];
  if (examples === undefined) throw new Error(`internal: no --help examples for "${name}" (src/cli/help.ts)`);
  let out = command;
  for (const [example, description] of examples) out = out.example(example, description);
  return out.epilogue(exitCodesText());
}
