/**
 * The status report as Prometheus metrics (text exposition format 0.0.4), following Prometheus' naming
 * conventions: base units (seconds, bytes), `_timestamp_seconds` for points in time, one family per
 * name with HELP and TYPE. Every target gets every series that does not depend on a run having
 * happened, so that a target that never succeeded is visible (last success 0), unlike
 * kube-state-metrics' last-successful-time which does not exist until the first success.
 */
import { STATES, type StatusReport, type TargetStatus } from './status.js';

export type MetricType = 'gauge' | 'counter';

interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples: { labels: Record<string, string>; value: number }[];
}

/** Every metric family the exporter emits (the dashboard and the alert rules may name only these). */
export const METRIC_NAMES = [
  'stackbackup_target_up',
  'stackbackup_target_error',
  'stackbackup_target_state',
  'stackbackup_status',
  'stackbackup_paused',
  'stackbackup_last_success_timestamp_seconds',
  'stackbackup_backup_size_bytes',
  'stackbackup_backups_size_bytes',
  'stackbackup_backups',
  'stackbackup_incomplete_backups',
  'stackbackup_schedule_interval_seconds',
  'stackbackup_next_run_timestamp_seconds',
  'stackbackup_last_run_timestamp_seconds',
  'stackbackup_last_run_duration_seconds',
  'stackbackup_last_run_success',
  'stackbackup_retention_would_delete_backups',
  'stackbackup_retention_considered_backups',
  'stackbackup_scan_duration_seconds',
  'stackbackup_last_drill_timestamp_seconds',
  'stackbackup_last_drill_success',
  'stackbackup_last_drill_restore_duration_seconds',
  'stackbackup_exporter_last_refresh_timestamp_seconds',
  'stackbackup_exporter_refresh_duration_seconds',
  'stackbackup_exporter_refreshes_total',
  'stackbackup_exporter_refresh_failures_total',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const ts = (iso: string | null): number | undefined => {
  if (iso === null) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
};

export interface ExporterCounters {
  refreshes: number;
  failures: number;
  lastRefreshSeconds: number;
  lastRefreshDurationSeconds: number;
}

export function renderMetrics(report: StatusReport, exporter: ExporterCounters): string {
  const families = new Map<MetricName, Family>();
  const add = (
    name: MetricName,
    help: string,
    labels: Record<string, string>,
    value: number | undefined,
    type: MetricType = 'gauge',
  ) => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, help, type, samples: [] };
      families.set(name, f);
    }
    if (value !== undefined) f.samples.push({ labels, value });
  };
  const perTarget = (t: TargetStatus) => ({ store: t.store, target: t.target });

  for (const t of report.targets) {
    const l = perTarget(t);
    add(
      'stackbackup_target_up',
      "Whether the target's backups could be listed (1) or not (0: endpoint unreachable, credentials refused, bucket missing).",
      l,
      t.error === null ? 1 : 0,
    );
    if (t.error !== null)
      add(
        'stackbackup_target_error',
        "Why the target's backups could not be listed (kind: unreachable, credentials, bucket_missing, not_found, configuration, error).",
        { ...l, kind: t.error.kind },
        1,
      );
    else
      add(
        'stackbackup_target_error',
        "Why the target's backups could not be listed (kind: unreachable, credentials, bucket_missing, not_found, configuration, error).",
        l,
        undefined,
      );
    for (const state of STATES)
      add(
        'stackbackup_target_state',
        "The target's state (1 for the current one): ok, stale, failing, never, paused.",
        { ...l, state },
        t.state === state ? 1 : 0,
      );
    add(
      'stackbackup_paused',
      "Whether the target's scheduled backups are paused (value or suspended CronJob).",
      l,
      t.paused ? 1 : 0,
    );
    add(
      'stackbackup_last_success_timestamp_seconds',
      'When the newest complete backup in the bucket was taken (Unix time; 0 when there is none).',
      l,
      ts(t.newest?.takenAt ?? null) ?? 0,
    );
    add('stackbackup_backup_size_bytes', 'Size of the newest complete backup.', l, t.newest?.sizeBytes ?? undefined);
    add('stackbackup_backups_size_bytes', 'Total size of the complete backups kept.', l, t.totalBytes ?? undefined);
    add(
      'stackbackup_backups',
      'Backups in the bucket by state (complete: restorable; incomplete: leftovers of cut-off runs).',
      { ...l, state: 'complete' },
      t.backups,
    );
    add(
      'stackbackup_backups',
      'Backups in the bucket by state (complete: restorable; incomplete: leftovers of cut-off runs).',
      { ...l, state: 'incomplete' },
      t.incomplete,
    );
    add('stackbackup_incomplete_backups', 'Incomplete leftovers of cut-off runs (never restorable).', l, t.incomplete);
    add(
      'stackbackup_schedule_interval_seconds',
      "The largest gap between the schedule's next fire times; stale means no complete backup within twice this.",
      l,
      t.intervalSeconds ?? undefined,
    );
    add('stackbackup_next_run_timestamp_seconds', 'Next scheduled run (Unix time).', l, ts(t.nextRun));
    add(
      'stackbackup_last_run_timestamp_seconds',
      'When the last finished run (Job) started (Unix time).',
      l,
      ts(t.lastRun?.startedAt ?? null),
    );
    add(
      'stackbackup_last_run_duration_seconds',
      'How long the last finished run (Job) took.',
      l,
      t.lastRun?.durationSeconds ?? undefined,
    );
    add(
      'stackbackup_last_run_success',
      'Whether the last finished run (Job) succeeded (1) or failed (0).',
      l,
      t.lastRun === null || t.lastRun.result === 'running' ? undefined : t.lastRun.result === 'succeeded' ? 1 : 0,
    );
    add(
      'stackbackup_retention_would_delete_backups',
      'Complete backups the retention would delete now (dry run).',
      l,
      t.retention?.wouldDelete,
    );
    add(
      'stackbackup_retention_considered_backups',
      'Complete backups the retention dry run considered.',
      l,
      t.retention?.of,
    );
    add('stackbackup_scan_duration_seconds', "How long listing the target's backups took.", l, t.scanSeconds);
    // Drill series exist only once a target was drilled (drills are opt-in): no drill is not a failure.
    add(
      'stackbackup_last_drill_timestamp_seconds',
      'Start of the newest restore drill that covered the target (Unix time).',
      l,
      t.drill === null ? undefined : ts(t.drill.startedAt),
    );
    add(
      'stackbackup_last_drill_success',
      '1 when the newest restore drill passed its checks, 0 when it failed.',
      l,
      t.drill === null ? undefined : t.drill.outcome === 'passed' ? 1 : 0,
    );
    add(
      'stackbackup_last_drill_restore_duration_seconds',
      'Seconds the newest restore drill took to restore (the expected restore time).',
      l,
      t.drill?.restoreSeconds,
    );
  }
  for (const state of STATES)
    add(
      'stackbackup_status',
      'Targets in each state.',
      { state },
      report.targets.filter((t) => t.state === state).length,
    );
  add(
    'stackbackup_exporter_last_refresh_timestamp_seconds',
    'When the exporter last derived the state (Unix time).',
    {},
    exporter.lastRefreshSeconds,
  );
  add(
    'stackbackup_exporter_refresh_duration_seconds',
    'How long the last refresh took.',
    {},
    exporter.lastRefreshDurationSeconds,
  );
  add(
    'stackbackup_exporter_refreshes_total',
    'Refreshes since the exporter started.',
    {},
    exporter.refreshes,
    'counter',
  );
  add(
    'stackbackup_exporter_refresh_failures_total',
    'Refreshes that failed as a whole (the Kubernetes API unreadable) since the exporter started.',
    {},
    exporter.failures,
    'counter',
  );

  const lines: string[] = [];
  for (const f of families.values()) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      lines.push(`${f.name}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
