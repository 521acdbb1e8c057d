/** NOTES.txt: what is enabled, where backups go, and the list/restore command of each enabled store. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderNotes } from './helm.js';

describe('NOTES.txt', () => {
  it('says backups are off and how to turn them on', async () => {
    const notes = await renderNotes();
    assert.match(notes, /backups OFF/);
    assert.match(notes, /--set backup\.enabled=true --set minio\.persistence\.enabled=true/);
    assert.doesNotMatch(notes, /restore\//);
  });

  it('lists every enabled store with its bucket, schedule and list/restore commands', async () => {
    const notes = await renderNotes({ files: ['minio-persistence-values.yaml'] });
    assert.match(notes, /backups are ON in namespace backup-ns/);
    assert.match(notes, /MinIO on PersistentVolumeClaim sb-stackbackup-minio \(kept when the release is uninstalled\)/);
    assert.match(notes, /StackGraph +bucket sts-stackgraph-backup, schedule "0 3 \* \* \*"/);
    assert.match(notes, /Elasticsearch +bucket sts-elasticsearch-backup, schedule "0 0 3 \* \* \?" \(Elasticsearch cron\)/);
    assert.match(notes, /victoria-metrics-0 +bucket sts-victoria-metrics-backup \(prefix victoria-metrics-0\/\), schedule "25 \* \* \* \*"/);
    assert.match(notes, /victoria-metrics-1 +bucket sts-victoria-metrics-backup \(prefix victoria-metrics-1\/\), schedule "35 \* \* \* \*"/);
    for (const cmd of [
      './restore/list-stackgraph-backups.sh',
      './restore/restore-stackgraph-backup.sh <backup name> [-force]',
      './restore/list-elasticsearch-snapshots.sh',
      './restore/restore-elasticsearch-snapshot.sh <snapshot name> ["index1,index2"] [-force]',
      './restore/list-victoria-metrics-backups.sh',
      './restore/restore-victoria-metrics-backup.sh victoria-metrics-1 <version>',
      './restore/list-volume-backups.sh [claim]',
      './restore/restore-volume-backup.sh <claim> <snapshot> [target claim] [-force]',
      './restore/scale-up.sh',
      'kubectl -n backup-ns logs job/sb-stackbackup-bucket-init',
    ]) {
      assert.ok(notes.includes(cmd), `NOTES mention ${cmd}`);
    }
    assert.ok(!notes.includes('cisecretkey0123456789') && !notes.includes('ciaccess01'), 'NOTES never print credentials');
  });

  it('shows restore-only stores and leaves out restore commands of stores without restores', async () => {
    const notes = await renderNotes({ files: ['restore-only-values.yaml'] });
    assert.match(notes, /StackGraph +bucket sts-stackgraph-backup, schedule restore only/);
    assert.match(notes, /s3proxy gateway in front of https:\/\/s3\.amazonaws\.com \(provider aws-s3\)/);
    assert.doesNotMatch(notes, /bucket-init/);
    const backupsOnly = await renderNotes({ files: ['backups-only-values.yaml'] });
    assert.doesNotMatch(backupsOnly, /restore-stackgraph-backup\.sh/);
    assert.doesNotMatch(backupsOnly, /scale-up\.sh/);
  });

  it('warns loudly about an emptyDir, and describes the Azure gateway', async () => {
    assert.match(await renderNotes({ files: ['minio-emptydir-values.yaml'] }), /WARNING: every backup is lost when the MinIO pod restarts/);
    const azure = await renderNotes({ files: ['azuregateway-values.yaml'] });
    assert.match(azure, /s3proxy gateway in front of Azure Blob Storage \(https:\/\/<minio\.accessKey>\.blob\.core\.windows\.net\)/);
    assert.ok(!azure.includes('Y2lBenVyZUFjY291bnRLZXkw'), 'NOTES never print the account key');
  });
});
