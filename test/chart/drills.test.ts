/**
 * The drill CronJobs and Job templates (./restore/drill.sh STORE) the chart renders: off by default; when
 * on, one CronJob and one template per store with the same pod, the drill verb with the chart's
 * values, a scratch emptyDir and never a data claim; Elasticsearch's backup and list reach the bucket
 * of the snapshots' records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  FULLNAME,
  containerOf,
  envOf,
  find,
  names,
  podOf,
  render,
  renderError,
  renderNotes,
  type Manifest,
  type PodTemplate,
} from './helm.js';

const DRILLS = {
  'victoria-metrics-0-drill': `${FULLNAME}-victoria-metrics-0-drill`,
  'elasticsearch-drill': `${FULLNAME}-elasticsearch-drill`,
  'volume-drill': `${FULLNAME}-volume-drill`,
} as const;

/** The Job of a job template ConfigMap, found by its stackbackup.io/job-template label. */
function templateJob(docs: Manifest[], template: string): Manifest {
  const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.labels?.['stackbackup.io/job-template'] === template);
  assert.ok(cm, `a job template labelled ${template}`);
  return parse(String((cm as unknown as { data: Record<string, string> }).data['job.yaml'])) as Manifest;
}

const argsOf = (pod: PodTemplate): string[] => pod.spec.containers[0]?.args ?? [];

describe('chart: restore drills', () => {
  it('renders no drill CronJob or template unless a drill is enabled', async () => {
    const docs = await render({ files: ['volumes-values.yaml'] });
    assert.deepEqual(
      names(docs, 'CronJob').filter((n) => n.endsWith('-drill')),
      [],
    );
    assert.ok(!docs.some((d) => String(d.metadata.labels?.['stackbackup.io/job-template'] ?? '').endsWith('-drill')));
  });

  it('one CronJob and one ./restore/drill.sh template per store, the same pod, scratch only', async () => {
    const docs = await render({ files: ['drills-values.yaml'] });
    for (const [template, cronJob] of Object.entries(DRILLS)) {
      const cron = find(docs, 'CronJob', cronJob);
      const job = templateJob(docs, template);
      assert.deepEqual(podOf(job).spec, podOf(cron).spec, `${template}: the template runs the CronJob's pod`);
      const claims = (podOf(cron).spec.volumes ?? []).filter((v) => 'persistentVolumeClaim' in v);
      assert.deepEqual(claims, [], `${template} mounts no claim`);
      assert.equal(podOf(cron).spec.affinity, undefined, `${template} is not tied to a data pod's node`);
    }
    assert.equal(find(docs, 'CronJob', DRILLS['victoria-metrics-0-drill']).spec?.schedule, '45 4 * * 0');
    assert.equal(find(docs, 'CronJob', DRILLS['elasticsearch-drill']).spec?.schedule, '15 6 * * 0');
    assert.equal(find(docs, 'CronJob', DRILLS['volume-drill']).spec?.schedule, '0 8 * * 0');

    const vm = podOf(find(docs, 'CronJob', DRILLS['victoria-metrics-0-drill']));
    assert.deepEqual(argsOf(vm), [
      'victoria-metrics',
      'drill',
      '--instance',
      'victoria-metrics-0',
      '--bucket',
      'sts-victoria-metrics-backup',
      '--scratch-dir',
      '/scratch',
      '--memory-mib',
      '192',
    ]);
    assert.deepEqual(
      vm.spec.volumes?.find((v) => v.name === 'scratch'),
      { name: 'scratch', emptyDir: { sizeLimit: '8Gi' } },
    );
    assert.ok(vm.spec.containers[0]?.volumeMounts?.some((m) => m.name === 'scratch' && m.mountPath === '/scratch'));

    const es = find(docs, 'CronJob', DRILLS['elasticsearch-drill']);
    assert.deepEqual(argsOf(podOf(es)), [
      'elasticsearch',
      'drill',
      '--url',
      'http://stackstate-elasticsearch-master:9200',
      '--bucket',
      'sts-elasticsearch-backup',
    ]);
    assert.equal((es.spec?.jobTemplate?.spec as { activeDeadlineSeconds?: number }).activeDeadlineSeconds, 3600);
    assert.ok(envOf(containerOf(es, 'drill')).STACKBACKUP_S3_ENDPOINT, 'the drill result goes to the bucket');

    const volumes = podOf(find(docs, 'CronJob', DRILLS['volume-drill']));
    const args = argsOf(volumes);
    assert.deepEqual(args.slice(0, 2), ['volumes', 'drill']);
    assert.deepEqual(args.slice(args.indexOf('--sample')), ['--sample', '2', '--read-data-subset', '5%', '--scratch-dir', '/scratch']);
    assert.deepEqual(
      volumes.spec.volumes?.find((v) => v.name === 'scratch'),
      { name: 'scratch', emptyDir: { sizeLimit: '5Gi' } },
    );
  });

  it("Elasticsearch's backup records each snapshot in the bucket and its list reads the flags", async () => {
    const docs = await render({ files: ['drills-values.yaml'] });
    const backup = find(docs, 'CronJob', `${FULLNAME}-elasticsearch-backup`);
    const args = argsOf(podOf(backup));
    assert.equal(args[args.indexOf('--bucket') + 1], 'sts-elasticsearch-backup');
    assert.ok(envOf(containerOf(backup, 'backup')).STACKBACKUP_S3_ENDPOINT);
    const list = argsOf(podOf(templateJob(docs, 'elasticsearch-list')));
    assert.equal(list[list.indexOf('--bucket') + 1], 'sts-elasticsearch-backup');
  });

  it('refuses a drill schedule that is not a Kubernetes cron schedule, naming the value and the fix', async () => {
    const message = await renderError({
      files: ['drills-values.yaml'],
      setString: { 'victoria-metrics-0.backup.drill.schedule': '61 4 * * 0' },
    });
    assert.match(
      message,
      /victoria-metrics-0\.backup\.drill\.schedule "61 4 \* \* 0": "61" is out of range for minute \(0-59\); fix: --set-string victoria-metrics-0\.backup\.drill\.schedule="30 5 \* \* 0"/,
    );
  });

  it('NOTES names ./restore/drill.sh of each store with a drill, and its schedule', async () => {
    const notes = await renderNotes({ files: ['drills-values.yaml'] });
    assert.match(notes, /\.\/restore\/drill\.sh elasticsearch +\(restore drill now; weekly drill "15 6 \* \* 0"\)/);
    assert.match(notes, /\.\/restore\/drill\.sh volumes +\(restore drill of the next 2 claims now; weekly drill "0 8 \* \* 0"\)/);
    assert.match(notes, /\.\/restore\/drill\.sh victoria-metrics victoria-metrics-0 +\(restore drill now; weekly drill "45 4 \* \* 0"\)/);
    assert.doesNotMatch(await renderNotes({ files: ['volumes-values.yaml'] }), /drill\.sh/);
  });
});
