/**
 * The CLI on Node.js 22, the job image's runtime (scripts/images/recipes/jobs.sh); the rest of the suite runs on the
 * machine's Node 20. Against a real MinIO: a StackGraph backup through the real stand-in's export
 * (child processes, retention, the S3 client's multipart upload), list in both forms, and a restore
 * (download over the plain-socket reader, SHA-256 on the worker thread, import) that gives back the
 * same graph.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir, toolPath } from '../servers/harness.js';
import { startMinio, type MinioServer } from '../servers/minio.js';
import { CLI } from '../support/cli.js';
import type { BackupList } from '../../src/stores/types.js';

const NODE22 = toolPath('node22', 'node22');
const STANDIN = toolPath('sts-graph-standin', 'stackgraph-standin');
const BUCKET = 'sts-stackgraph-backup';

let minio: MinioServer;
let work: string;

before(async () => {
  [minio, work] = await Promise.all([startMinio(), tempDir('node22')]);
});
after(async () => {
  await minio?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function cli22(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('STACKBACKUP_')) env[k] = v;
  Object.assign(env, {
    STACKBACKUP_S3_ENDPOINT: minio.endpoint,
    STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
    STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
  });
  const child = spawn(NODE22, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

const standin = (db: string, ...args: string[]): string =>
  execFileSync(STANDIN, ['-db', db, ...args], { encoding: 'utf8' }).trim();

describe('the CLI on Node.js 22 (the job image runtime)', () => {
  it('runs on Node 22', async () => {
    assert.equal(execFileSync(NODE22, ['--version'], { encoding: 'utf8' }).trim().split('.')[0], 'v22');
    const help = await cli22(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /stackgraph/);
  });

  it('backs up StackGraph to MinIO, lists it and restores the same graph', async () => {
    const source = join(work, 'source.db');
    const target = join(work, 'target.db');
    standin(source, '-seed', '3000', '-payload', '2048');
    const backup = await cli22([
      'stackgraph',
      'backup',
      '--bucket',
      BUCKET,
      '--export-command',
      JSON.stringify([STANDIN, '-db', source, '-export']),
      '--work-dir',
      join(work, 'backup'),
      '--json',
    ]);
    assert.equal(backup.code, 0, backup.stderr);
    const { name } = JSON.parse(backup.stdout) as { name: string };
    assert.match(name, /^sts-backup-\d{8}-\d{4}\.graph$/);

    const names = await cli22(['stackgraph', 'list', '--bucket', BUCKET, '--format', 'names']);
    const table = await cli22(['stackgraph', 'list', '--bucket', BUCKET]);
    assert.match(table.stdout, new RegExp(`^NAME +SIZE +AGE +TAKEN\\n${name.replace(/\./g, '\\.')} +\\d`));
    assert.equal(names.code, 0, names.stderr);
    assert.deepEqual(names.stdout.trim().split('\n'), [name]);
    const json = await cli22(['stackgraph', 'list', '--bucket', BUCKET, '--json']);
    assert.equal((JSON.parse(json.stdout) as BackupList).backups[0]?.name, name);

    await mkdir(join(work, 'restore'), { recursive: true });
    const restore = await cli22([
      'stackgraph',
      'restore',
      name,
      '--bucket',
      BUCKET,
      '--count-command',
      JSON.stringify([STANDIN, '-db', target, '-count']),
      '--import-command',
      JSON.stringify([STANDIN, '-db', target, '-import']),
      '--work-dir',
      join(work, 'restore'),
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(standin(target, '-digest'), standin(source, '-digest'));
  });
});
