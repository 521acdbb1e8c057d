/**
 * The chart's backup health: the status targets ConfigMap (only the enabled stores), the status Job
 * template and its read-only Role, the metrics exporter (restricted Deployment, Service, opt-in
 * ServiceMonitor and PrometheusRule), and the alert rules run through Prometheus' own
 * `promtool test rules`, including a target that never succeeded.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { tempDir, toolPath } from '../servers/harness.js';
import { FULLNAME, render, renderError, type Manifest } from './helm.js';
import { METRIC_NAMES } from '../../src/health/metrics.js';

const BASE = {
  'backup.enabled': 'true',
  'minio.persistence.enabled': 'true',
  'minio.accessKey': 'ciaccess01',
  'minio.secretKey': 'cisecretkey0123456789',
};
const ALL = {
  ...BASE,
  'victoria-metrics-0.backup.enabled': 'true',
  'metrics.enabled': 'true',
  'metrics.serviceMonitor.enabled': 'true',
  'metrics.prometheusRule.enabled': 'true',
};

const find = (docs: Manifest[], kind: string, name: string): Manifest | undefined =>
  docs.find((d) => d.kind === kind && d.metadata.name === name);

interface TargetsDoc {
  targets: { store: string; target: string; schedule?: string; cronJob?: string; paused?: boolean }[];
}

function targetsOf(docs: Manifest[]): TargetsDoc {
  const cm = find(docs, 'ConfigMap', `${FULLNAME}-status-targets`) as unknown as { data: Record<string, string> };
  assert.ok(cm, 'the status targets ConfigMap renders');
  return JSON.parse(cm.data['targets.json'] ?? '') as TargetsDoc;
}

let work: string;
before(async () => {
  work = await tempDir('health-chart');
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('chart: status and metrics', () => {
  it('describes only the enabled stores, with their schedules and CronJobs', async () => {
    const docs = await render({ set: { ...ALL, 'backup.elasticsearch.enabled': 'false' } });
    const doc = targetsOf(docs);
    assert.deepEqual(
      doc.targets.map((t) => `${t.store}/${t.target}`),
      ['stackgraph/stackgraph', 'victoria-metrics/victoria-metrics-0'],
    );
    assert.equal(doc.targets[0]?.schedule, '0 3 * * *');
    assert.equal(doc.targets[0]?.cronJob, `${FULLNAME}-stackgraph-backup`);
    assert.ok(find(docs, 'CronJob', `${FULLNAME}-stackgraph-backup`), 'the CronJob named exists');
    assert.ok(find(docs, 'CronJob', doc.targets[1]?.cronJob ?? ''), 'the Victoria Metrics CronJob named exists');
    const off = await render({ set: { ...BASE, 'status.enabled': 'false' } });
    assert.equal(find(off, 'ConfigMap', `${FULLNAME}-status-targets`), undefined);
  });

  it('the status Role reads only CronJobs and Jobs; the exporter runs restricted with it', async () => {
    const docs = await render({ set: ALL });
    const role = find(docs, 'Role', `${FULLNAME}-status`) as unknown as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    assert.deepEqual(role.rules, [{ apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: ['get', 'list'] }]);
    const deploy = find(docs, 'Deployment', `${FULLNAME}-metrics`);
    const pod = deploy?.spec?.template?.spec;
    assert.ok(pod, 'the exporter Deployment renders');
    assert.equal(pod.serviceAccountName, `${FULLNAME}-status`);
    const c = pod.containers[0];
    assert.deepEqual(c?.args?.slice(0, 2), ['metrics', 'serve']);
    assert.equal(c?.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c?.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(c?.securityContext?.capabilities?.drop, ['ALL']);
    assert.ok(find(docs, 'Service', `${FULLNAME}-metrics`));
    assert.ok(find(docs, 'ServiceMonitor', `${FULLNAME}-metrics`));
    assert.ok(find(docs, 'ConfigMap', `${FULLNAME}-status-job`), 'the status Job template of ./restore/status.sh');
    const plain = await render({ set: { ...BASE, 'metrics.enabled': 'true' } });
    assert.equal(find(plain, 'ServiceMonitor', `${FULLNAME}-metrics`), undefined, 'ServiceMonitor is opt-in');
    assert.equal(find(plain, 'PrometheusRule', `${FULLNAME}-metrics`), undefined, 'PrometheusRule is opt-in');
  });

  it('refuses empty or out-of-range metrics values', async () => {
    for (const [key, value] of [
      ['metrics.serviceMonitor.interval', ''],
      ['metrics.prometheusRule.incompleteFor', ''],
      ['metrics.prometheusRule.retentionDeleteShare', '0'],
      ['metrics.interval', '1'],
      ['metrics.port', '80'],
    ] as const) {
      const err = await renderError({ set: { ...ALL, [key]: value } });
      assert.match(err, new RegExp(key.split('.').pop() ?? ''), `${key}=${value} is refused: ${err}`);
    }
  });

  it('the alert rules pass promtool test rules: stale, never succeeded, failing, leftovers, retention, unreachable, failed drill', async () => {
    const promtool = toolPath('promtool', 'promtool');
    const docs = await render({ set: ALL });
    const rule = find(docs, 'PrometheusRule', `${FULLNAME}-metrics`) as unknown as {
      spec: { groups: { name: string; rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[] };
    };
    assert.ok(rule, 'the PrometheusRule renders');
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    for (const r of rules) {
      assert.match(r.annotations.runbook ?? '', /\.\/restore\/|kubectl|stackbackup /, `${r.alert} has a runbook line`);
      for (const name of r.expr.match(/stackbackup_[a-z_]+/g) ?? [])
        assert.ok((METRIC_NAMES as readonly string[]).includes(name), `${r.alert} names ${name}, which the exporter emits`);
    }
    /** An alert's annotations as Prometheus renders them for these labels and value. */
    const ann = (alert: string, labels: Record<string, string>, value = ''): Record<string, string> =>
      Object.fromEntries(
        Object.entries(rules.find((r) => r.alert === alert)?.annotations ?? {}).map(([k, v]) => [
          k,
          v
            .replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_m, name: string) => labels[name] ?? '')
            .replace(/\{\{ \$value[^}]*\}\}/g, value),
        ]),
      );
    const expect = (alert: string, labels: Record<string, string>, value = '') => ({
      exp_labels: labels,
      exp_annotations: ann(alert, labels, value),
    });
    const rulesFile = join(work, 'rules.yaml');
    await writeFile(rulesFile, stringify({ groups: rule.spec.groups }));
    const day = 86400;
    const l = (store: string, target: string) => `{store="${store}",target="${target}"}`;
    // Evaluation starts at time 0; timestamps are seconds since then. Series step 1m, 120 samples.
    const at0 = 10 * day; // the "now" of the series: last success values are relative to it
    const tests = {
      rule_files: [rulesFile],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // ok: backed up an hour before; daily schedule.
            { series: `stackbackup_last_success_timestamp_seconds${l('stackgraph', 'stackgraph')}`, values: `${at0 - 3600}x240` },
            { series: `stackbackup_schedule_interval_seconds${l('stackgraph', 'stackgraph')}`, values: `${day}x240` },
            { series: `stackbackup_paused${l('stackgraph', 'stackgraph')}`, values: '0x240' },
            // never succeeded: last success 0.
            { series: `stackbackup_last_success_timestamp_seconds${l('victoria-metrics', 'victoria-metrics-0')}`, values: '0x240' },
            { series: `stackbackup_schedule_interval_seconds${l('victoria-metrics', 'victoria-metrics-0')}`, values: '3600x240' },
            { series: `stackbackup_paused${l('victoria-metrics', 'victoria-metrics-0')}`, values: '0x240' },
            { series: `stackbackup_last_run_success${l('victoria-metrics', 'victoria-metrics-0')}`, values: '0x240' },
            // stale but paused: no alert.
            { series: `stackbackup_last_success_timestamp_seconds${l('volumes', 'claim-alice')}`, values: '0x240' },
            { series: `stackbackup_schedule_interval_seconds${l('volumes', 'claim-alice')}`, values: `${day}x240` },
            { series: `stackbackup_paused${l('volumes', 'claim-alice')}`, values: '1x240' },
            // leftovers for 7 hours would be needed: only 2 here, so none fires.
            { series: `stackbackup_incomplete_backups${l('stackgraph', 'stackgraph')}`, values: '2x240' },
            // retention would delete 4 of 5.
            { series: `stackbackup_retention_would_delete_backups${l('stackgraph', 'stackgraph')}`, values: '4x240' },
            { series: `stackbackup_retention_considered_backups${l('stackgraph', 'stackgraph')}`, values: '5x240' },
            { series: `stackbackup_target_error{store="elasticsearch",target="sts-backup",kind="credentials"}`, values: '1x240' },
            { series: 'stackbackup_exporter_last_refresh_timestamp_seconds', values: `${at0}+60x240` },
            // drills: stackgraph's last drill failed, claim-alice's passed; never drilled targets have no series.
            { series: `stackbackup_last_drill_success${l('stackgraph', 'stackgraph')}`, values: '0x240' },
            { series: `stackbackup_last_drill_success${l('volumes', 'claim-alice')}`, values: '1x240' },
          ],
          alert_rule_test: [
            // The never-succeeded hourly target: time() - 0 > 2 h from 2 h on, for 15m.
            { eval_time: '2h', alertname: 'StackbackupBackupStale', exp_alerts: [] },
            {
              eval_time: '3h',
              alertname: 'StackbackupBackupStale',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', store: 'victoria-metrics', target: 'victoria-metrics-0' },
                  exp_annotations: {
                    summary: "No complete victoria-metrics backup of victoria-metrics-0 within twice its schedule's interval",
                    description:
                      "The newest complete backup of victoria-metrics/victoria-metrics-0 is older than twice the schedule's interval (or there is none).",
                    runbook: rules.find((r) => r.alert === 'StackbackupBackupStale')?.annotations.runbook ?? '',
                  },
                },
              ],
            },
            {
              eval_time: '30m',
              alertname: 'StackbackupBackupFailing',
              exp_alerts: [
                expect('StackbackupBackupFailing', {
                  severity: 'warning',
                  store: 'victoria-metrics',
                  target: 'victoria-metrics-0',
                }),
              ],
            },
            { eval_time: '2h', alertname: 'StackbackupIncompleteLeftovers', exp_alerts: [] },
            {
              eval_time: '30m',
              alertname: 'StackbackupRetentionWouldDeleteMany',
              exp_alerts: [
                expect(
                  'StackbackupRetentionWouldDeleteMany',
                  { severity: 'warning', store: 'stackgraph', target: 'stackgraph' },
                  '80%',
                ),
              ],
            },
            {
              eval_time: '30m',
              alertname: 'StackbackupTargetUnreachable',
              exp_alerts: [
                expect('StackbackupTargetUnreachable', {
                  severity: 'critical',
                  store: 'elasticsearch',
                  target: 'sts-backup',
                  kind: 'credentials',
                }),
              ],
            },
            { eval_time: '30m', alertname: 'StackbackupExporterStale', exp_alerts: [] },
            { eval_time: '3m', alertname: 'StackbackupDrillFailed', exp_alerts: [] },
            {
              eval_time: '10m',
              alertname: 'StackbackupDrillFailed',
              exp_alerts: [
                expect('StackbackupDrillFailed', { severity: 'critical', store: 'stackgraph', target: 'stackgraph' }),
              ],
            },
          ],
        },
        {
          // The stale rule with real time: a daily target whose last success is 3 days before "now".
          interval: '1m',
          input_series: [
            { series: `stackbackup_last_success_timestamp_seconds${l('stackgraph', 'stackgraph')}`, values: '0x60' },
            { series: `stackbackup_schedule_interval_seconds${l('stackgraph', 'stackgraph')}`, values: '600x60' },
            { series: `stackbackup_paused${l('stackgraph', 'stackgraph')}`, values: '0x60' },
            { series: `stackbackup_incomplete_backups${l('stackgraph', 'stackgraph')}`, values: '1x480' },
            { series: 'stackbackup_exporter_last_refresh_timestamp_seconds', values: '0x60' },
          ],
          alert_rule_test: [
            // time() - 0 > 2 * 600 from 20m on; for 15m: fires from 35m.
            { eval_time: '30m', alertname: 'StackbackupBackupStale', exp_alerts: [] },
            {
              eval_time: '40m',
              alertname: 'StackbackupBackupStale',
              exp_alerts: [
                expect('StackbackupBackupStale', { severity: 'critical', store: 'stackgraph', target: 'stackgraph' }),
              ],
            },
            {
              eval_time: '7h',
              alertname: 'StackbackupIncompleteLeftovers',
              exp_alerts: [
                expect(
                  'StackbackupIncompleteLeftovers',
                  { severity: 'warning', store: 'stackgraph', target: 'stackgraph' },
                  '1',
                ),
              ],
            },
            // The exporter's last refresh is 0 and Prometheus' time passes 3 * 300 s + 5m.
            {
              eval_time: '30m',
              alertname: 'StackbackupExporterStale',
              exp_alerts: [expect('StackbackupExporterStale', { severity: 'warning' })],
            },
          ],
        },
      ],
    };
    const testFile = join(work, 'rules.test.yaml');
    await writeFile(testFile, stringify(tests));
    const res = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(promtool, ['test', 'rules', testFile], (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : 1, out: stdout + stderr }),
      ),
    );
    assert.equal(res.code, 0, `promtool test rules:\n${res.out}`);
    const check = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(promtool, ['check', 'rules', rulesFile], (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : 1, out: stdout + stderr }),
      ),
    );
    assert.equal(check.code, 0, `promtool check rules:\n${check.out}`);
  });

  it('the dashboard: a labelled ConfigMap whose every panel query parses (promtool) and names only exporter metrics', async () => {
    const promtool = toolPath('promtool', 'promtool');
    const docs = await render({ set: { ...ALL, 'metrics.dashboard.enabled': 'true' } });
    const cm = find(docs, 'ConfigMap', `${FULLNAME}-dashboard`) as unknown as {
      metadata: { labels: Record<string, string> };
      data: Record<string, string>;
    };
    assert.ok(cm, 'the dashboard ConfigMap renders');
    assert.equal(cm.metadata.labels.grafana_dashboard, '1');
    const dashboard = JSON.parse(cm.data['stackbackup-health.json'] ?? '') as {
      panels: { title: string; targets: { expr: string }[] }[];
      templating: { list: { name: string; query?: unknown }[] };
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    assert.ok(exprs.length >= 10, 'the panels have queries');
    for (const wanted of ['Age', 'Size', 'duration', 'Failed']) {
      assert.ok(dashboard.panels.some((p) => p.title.includes(wanted)), `a panel about ${wanted}`);
    }
    for (const { panel, expr } of exprs) {
      for (const name of expr.match(/stackbackup_[a-z_]+/g) ?? [])
        assert.ok((METRIC_NAMES as readonly string[]).includes(name), `${panel}: ${name} is emitted by the exporter`);
    }
    // promtool parses PromQL in rule files: each query becomes a recording rule (Grafana's $variables
    // sit inside label matchers' strings, which PromQL takes as they are).
    const file = join(work, 'dashboard-rules.yaml');
    await writeFile(
      file,
      stringify({ groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `dashboard:q${i}`, expr: e.expr })) }] }),
    );
    const check = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(promtool, ['check', 'rules', file], (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : 1, out: stdout + stderr }),
      ),
    );
    assert.equal(check.code, 0, `every panel query parses:\n${check.out}`);
    const off = await render({ set: ALL });
    assert.equal(find(off, 'ConfigMap', `${FULLNAME}-dashboard`), undefined, 'the dashboard is opt-in');
  });
});
