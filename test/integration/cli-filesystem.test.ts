/**
 * The real CLI on the embedded default storage (a local folder): the same commands an operator runs,
 * their tables, --json output and exit codes (the demo: test/integration/demo.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile, utimes, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../servers/harness.js';
import { runCli } from '../support/cli.js';
import { EXAMPLES, exitCodesText } from '../../src/cli/help.js';

let root: string;
let work: string;
const env = (): Record<string, string> => ({ STACKBACKUP_FS_ROOT: root });

before(async () => {
  root = await tempDir('cli-fs');
  work = await tempDir('cli-work');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('stackbackup storage on the local filesystem', () => {
  it('init, upload, ls (table and --json), download with verification', async () => {
    assert.equal((await runCli(['storage', 'init', '--bucket', 'sts-stackgraph-backup'], env())).code, 0);
    const data = randomBytes(300_000);
    await writeFile(join(work, 'export.graph'), data);
    const up = await runCli(
      [
        'storage',
        'upload',
        '--bucket',
        'sts-stackgraph-backup',
        join(work, 'export.graph'),
        'sts-backup-20260101-0300.graph',
      ],
      env(),
    );
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /uploaded sts-backup-20260101-0300\.graph: 293\.0 KiB, sha256 [0-9a-f]{64}/);
    assert.match(up.stderr, /upload sts-backup-20260101-0300\.graph: 293\.0 KiB in \d+s/);

    const table = await runCli(['storage', 'ls', '--bucket', 'sts-stackgraph-backup'], env());
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+SIZE\s+MODIFIED\s+STATE$/);
    assert.match(lines[1] ?? '', /^sts-backup-20260101-0300\.graph\s+293\.0 KiB\s+\S+\s+complete$/);
    assert.equal(lines.length, 2, 'the checksum object is folded into its backup');

    const json = await runCli(['storage', 'ls', '--bucket', 'sts-stackgraph-backup', '--json'], env());
    const parsed = JSON.parse(json.stdout) as { key: string; size: number; complete: boolean }[];
    assert.deepEqual(
      parsed.map((o) => [o.key, o.size, o.complete]),
      [['sts-backup-20260101-0300.graph', 300_000, true]],
    );

    const down = await runCli(
      [
        'storage',
        'download',
        '--bucket',
        'sts-stackgraph-backup',
        'sts-backup-20260101-0300.graph',
        join(work, 'restored.graph'),
      ],
      env(),
    );
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await readFile(join(work, 'restored.graph')), data);
  });

  it('unknown objects, bad names and missing buckets give their own exit codes and change nothing', async () => {
    const missing = await runCli(
      ['storage', 'download', '--bucket', 'sts-stackgraph-backup', 'sts-backup-19990101-0000.graph', join(work, 'x')],
      env(),
    );
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /does not exist/);
    const evil = await runCli(
      ['storage', 'download', '--bucket', 'sts-stackgraph-backup', 'a;rm -rf $(pwd)', join(work, 'y')],
      env(),
    );
    assert.equal(evil.code, 2);
    assert.match(evil.stderr, /invalid object name/);
    const noBucket = await runCli(['storage', 'ls', '--bucket', 'never-created'], env());
    assert.equal(noBucket.code, 6);
    assert.match(noBucket.stderr, /bucket "never-created" does not exist/);
    assert.deepEqual((await readdir(root)).sort(), ['sts-stackgraph-backup'], 'nothing was created');
    const jsonErr = await runCli(['storage', 'ls', '--bucket', 'never-created', '--json'], env());
    assert.equal(JSON.parse(jsonErr.stderr).error.exitCode, 6);
    const usage = await runCli(
      ['storage', 'cleanup', '--bucket', 'sts-stackgraph-backup', '--older-than', '3 days'],
      env(),
    );
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--older-than "3 days": cannot read/);
  });

  it('cleanup previews, then removes only leftovers older than the limit', async () => {
    const bucket = join(root, 'sts-stackgraph-backup');
    await writeFile(join(bucket, 'sts-backup-20260101-0400.graph'), 'cut off before its checksum');
    await mkdir(join(bucket, '.incomplete'), { recursive: true });
    await writeFile(join(bucket, '.incomplete', 'dead.part'), 'partial');
    const old = new Date(Date.now() - 3 * 86_400_000);
    await utimes(join(bucket, 'sts-backup-20260101-0400.graph'), old, old);
    await utimes(join(bucket, '.incomplete', 'dead.part'), old, old);
    const preview = await runCli(
      ['storage', 'cleanup', '--bucket', 'sts-stackgraph-backup', '--dry-run', '--json'],
      env(),
    );
    assert.equal(preview.code, 0, preview.stderr);
    assert.deepEqual(JSON.parse(preview.stdout).removed, [
      'unpublished object sts-backup-20260101-0400.graph (no checksum)',
    ]);
    assert.ok((await readdir(bucket)).includes('sts-backup-20260101-0400.graph'), 'dry run changes nothing');
    const real = await runCli(['storage', 'cleanup', '--bucket', 'sts-stackgraph-backup'], env());
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /removed temporary file dead\.part/);
    assert.match(real.stdout, /removed unpublished object sts-backup-20260101-0400\.graph/);
    assert.deepEqual((await readdir(bucket)).sort(), [
      '.incomplete',
      'sts-backup-20260101-0300.graph',
      'sts-backup-20260101-0300.graph.sha256',
    ]);
  });

  it('--help of every command ends with its examples and the exit codes', async () => {
    const top = await runCli(['--help'], env());
    assert.equal(top.code, 0, top.stderr);
    // Every command of every group, as the groups' --help list them.
    const commands = ['demo', 'status', 'metrics serve'];
    for (const group of ['storage', 'stackgraph', 'victoria-metrics', 'elasticsearch', 'volumes']) {
      assert.match(top.stdout, new RegExp(`stackbackup ${group}\\b`));
      const listed = await runCli([group, '--help'], env());
      assert.equal(listed.code, 0, listed.stderr);
      const verbs = [...listed.stdout.matchAll(new RegExp(`^  stackbackup ${group} ([a-z-]+)`, 'gm'))].map(
        (m) => `${group} ${m[1] ?? ''}`,
      );
      assert.ok(verbs.length >= 4, `${group} --help lists its commands:\n${listed.stdout}`);
      commands.push(...verbs);
    }
    assert.deepEqual(
      commands.sort(),
      Object.keys(EXAMPLES).sort(),
      'every command has examples, and every example set a command',
    );
    for (const command of commands) {
      const res = await runCli([...command.split(' '), '--help'], env());
      assert.equal(res.code, 0, `${command} --help: ${res.stderr}`);
      assert.match(res.stdout, /\nExamples:\n {2}stackbackup /, `${command} --help has examples`);
      assert.ok(
        res.stdout.trimEnd().endsWith(exitCodesText()),
        `${command} --help ends with the exit codes:\n${res.stdout}`,
      );
    }
  });
});
