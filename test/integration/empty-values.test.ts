/**
 * An option given explicitly empty or blank is refused with exit 2 and changes nothing, in every store:
 * `stackgraph prune --retention ""` once fell back to the default `days=30` and deleted a backup. The
 * real CLI bundle on the embedded default storage (a local folder); every other store's case fails in
 * validation, before any server would be asked, and leaves the storage folder byte for byte as it was.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../servers/harness.js';
import { runCli } from '../support/cli.js';
import type { PruneReport } from '../../src/stores/types.js';

let root: string;
let work: string;
let passwordFile: string;
const env = (): Record<string, string> => ({
  STACKBACKUP_FS_ROOT: root,
  STACKBACKUP_RESTIC_PASSWORD_FILE: passwordFile,
});

function backupName(daysAgo: number): string {
  const t = new Date(Date.now() - daysAgo * 86_400_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `sts-backup-${t.getUTCFullYear()}${p(t.getUTCMonth() + 1)}${p(t.getUTCDate())}-${p(t.getUTCHours())}${p(t.getUTCMinutes())}.graph`;
}

/** Every file under the storage root with its content hash: "nothing changed" is this staying equal. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    out.push(
      entry.isFile()
        ? `${path} ${createHash('sha256')
            .update(await readFile(path))
            .digest('hex')}`
        : `${path}/`,
    );
  }
  return out.sort();
}

const BACKUPS = [backupName(90), backupName(60), backupName(2), backupName(1)];

before(async () => {
  root = await tempDir('empty-values-fs');
  work = await tempDir('empty-values-work');
  passwordFile = join(work, 'restic-password');
  await writeFile(passwordFile, 'demo-password\n');
  await writeFile(join(work, 'export.graph'), 'a StackGraph export');
  assert.equal((await runCli(['storage', 'init', '--bucket', 'sts-stackgraph-backup'], env())).code, 0);
  for (const name of BACKUPS) {
    const up = await runCli(
      ['storage', 'upload', '--bucket', 'sts-stackgraph-backup', join(work, 'export.graph'), name],
      env(),
    );
    assert.equal(up.code, 0, up.stderr);
  }
});
after(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

/** [command line, the option the error must name]. */
const CASES: [string[], string][] = [
  [['stackgraph', 'prune', '--retention', ''], '--retention'],
  [['stackgraph', 'prune', '--retention', '   '], '--retention'],
  [['stackgraph', 'prune', '--min-count', ''], '--min-count'],
  [['stackgraph', 'prune', '--bucket', ''], '--bucket'],
  [['stackgraph', 'prune', '--retention='], '--retention'],
  [['stackgraph', 'backup', '--from-file', 'x.graph', '--retention', ''], '--retention'],
  [['stackgraph', 'backup', '--from-file', 'x.graph', '--min-count', ' '], '--min-count'],
  [['stackgraph', 'list', '--bucket', ''], '--bucket'],
  [['victoria-metrics', 'prune', '--keep-daily', ''], '--keep-daily'],
  [['victoria-metrics', 'prune', '--keep-weekly', ' '], '--keep-weekly'],
  [['victoria-metrics', 'prune', '--instance', ''], '--instance'],
  [['victoria-metrics', 'prune', '--bucket', ''], '--bucket'],
  [['victoria-metrics', 'list', '--instance', 'victoria-metrics-0,'], '--instance'],
  [
    [
      'victoria-metrics',
      'backup',
      '--instance',
      'victoria-metrics-0',
      '--url',
      'http://127.0.0.1:1',
      '--storage-data-path',
      '/data',
      '--keep-daily',
      '',
    ],
    '--keep-daily',
  ],
  [['volumes', 'prune', '--keep-last', ''], '--keep-last'],
  [['volumes', 'prune', '--keep-daily', ' '], '--keep-daily'],
  [['volumes', 'prune', '--claim', ''], '--claim'],
  [['volumes', 'prune', '--prefix', ''], '--prefix'],
  [['volumes', 'prune', '--bucket', ''], '--bucket'],
  [['volumes', 'prune', '--claim-retention', ''], '--claim-retention'],
  [['volumes', 'prune', '--lock-wait-seconds', ''], '--lock-wait-seconds'],
  [['volumes', 'backup', '--claim', 'claim-a', '--path', '/data', '--keep-weekly', ''], '--keep-weekly'],
  [['volumes', 'check', '--read-data-subset', ''], '--read-data-subset'],
  [['volumes', 'dispatch', '--template-config-map', 'tpl', '--claim', 'claim-a', '--window', ''], '--window'],
  [['volumes', 'dispatch', '--template-config-map', 'tpl', '--claim', ''], '--claim'],
  [['volumes', 'dispatch', '--template-config-map', 'tpl', '--claim', 'claim-a', '--selector', ' '], '--selector'],
  [['elasticsearch', 'prune', '--url', 'http://127.0.0.1:1', '--expire-after', ''], '--expire-after'],
  [['elasticsearch', 'prune', '--url', 'http://127.0.0.1:1', '--min-count', ''], '--min-count'],
  [['elasticsearch', 'prune', '--url', 'http://127.0.0.1:1', '--max-count', ' '], '--max-count'],
  [['elasticsearch', 'configure', '--url', 'http://127.0.0.1:1', '--schedule', ''], '--schedule'],
  [['elasticsearch', 'configure', '--url', 'http://127.0.0.1:1', '--bucket', ''], '--bucket'],
  [['elasticsearch', 'configure', '--url', 'http://127.0.0.1:1', '--base-path', ''], '--base-path'],
  [['elasticsearch', 'backup', '--url', 'http://127.0.0.1:1', '--repository', ''], '--repository'],
];

describe('explicitly empty option values', () => {
  it('are refused with exit 2, naming the option, and change nothing in the bucket', async () => {
    const before = await snapshot(root);
    assert.deepEqual(
      (await runCli(['stackgraph', 'list', '--format', 'names'], env())).stdout.trim().split('\n'),
      [...BACKUPS].reverse(),
    );
    for (const [args, option] of CASES) {
      const run = await runCli(args, env());
      const shown = `stackbackup ${args.map((a) => JSON.stringify(a)).join(' ')}`;
      assert.equal(run.code, 2, `${shown}: exit ${String(run.code)}\n${run.stderr}`);
      assert.match(
        run.stderr,
        new RegExp(`^Error: ${option}( \\([^)]*\\))? (is empty|has an empty name)`, 'm'),
        `${shown}\n${run.stderr}`,
      );
      assert.equal(run.stdout, '', `${shown} printed a result`);
    }
    assert.deepEqual(await snapshot(root), before, 'the storage folder changed');
  });

  it('the same prune without the empty value applies the default retention (so the refusals above protected a backup)', async () => {
    const run = await runCli(['stackgraph', 'prune', '--json'], env());
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as PruneReport;
    assert.equal(result.policy, 'days=30, at least 3 kept');
    assert.deepEqual(result.deleted, [BACKUPS[0]], 'exactly the oldest backup beyond the three always kept');
    assert.deepEqual(
      result.decisions.map((d) => `${d.action} ${d.rule}`),
      ['keep newest', 'keep min-count', 'keep min-count', 'delete expired'],
    );
    const left = (await runCli(['stackgraph', 'list', '--format', 'names'], env())).stdout.trim().split('\n');
    assert.deepEqual(left, BACKUPS.slice(1).reverse());
  });
});
