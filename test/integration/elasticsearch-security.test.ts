/**
 * Elasticsearch with security on (file-realm user, plain HTTP): the CLI reaches it with the credentials
 * the chart mounts as files, a wrong password is exit 5 with what to check, and the password never
 * shows in any output, errors under --json included.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/util/errors.js';
import { startElasticsearch, type ElasticsearchServer } from '../servers/elasticsearch.js';
import { tempDir } from '../servers/harness.js';
import { runCli } from '../support/cli.js';

let es: ElasticsearchServer;
let work: string;

before(async () => {
  es = await startElasticsearch({ security: true });
  work = await tempDir('elasticsearch-security');
  await writeFile(join(work, 'username'), es.username ?? '');
  await writeFile(join(work, 'password'), `${es.password ?? ''}\n`);
  await writeFile(join(work, 'wrong'), 'not-the-password-123\n');
});
after(async () => {
  await es?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const env = (passwordFile: string): Record<string, string> => ({
  STACKBACKUP_ES_URL: es.url,
  STACKBACKUP_ES_USERNAME_FILE: join(work, 'username'),
  STACKBACKUP_ES_PASSWORD_FILE: join(work, passwordFile),
});

describe('elasticsearch with security on', () => {
  it('configures, snapshots and lists with the mounted credentials; the password never shows', async () => {
    const configure = await runCli(
      ['elasticsearch', 'configure', '--repository-type', 'fs', '--location', 'secured', '--engine', 'cronjob'],
      env('password'),
    );
    assert.equal(configure.code, 0, configure.stderr);
    assert.match(
      configure.stdout,
      /repository "sts-backup" \(fs\) registered in Elasticsearch at http:\/\/127\.0\.0\.1:\d+, verified by node-0/,
    );
    const backup = await runCli(['elasticsearch', 'backup', '--indices', 'sts*'], env('password'));
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /^snapshot sts-backup-\d{8}-\d{4}-\S+ SUCCESS in repository "sts-backup": 0 indices/m);
    const list = await runCli(['elasticsearch', 'list', '--format', 'names', '--debug'], env('password'));
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^sts-backup-\d{8}-\d{4}-[a-z0-9_-]{22}$/m);
    for (const run of [configure, backup, list])
      assert.ok(!`${run.stdout}${run.stderr}`.includes(es.password ?? '???'), 'the password never shows');
  });

  it('a wrong password: exit 5, what to check, and neither password in the output', async () => {
    const run = await runCli(['elasticsearch', 'list', '--debug'], env('wrong'));
    assert.equal(run.code, ExitCode.credentials, run.stderr);
    assert.match(run.stderr, /Elasticsearch refused the credentials \(HTTP 401\)/);
    assert.match(run.stderr, /Next: Check the user in the Secret named by backup\.elasticsearch\.auth\.existingSecret/);
    const json = await runCli(['elasticsearch', 'restore', 'x', '--json'], env('wrong'));
    assert.equal(json.code, ExitCode.credentials);
    assert.equal((JSON.parse(json.stderr) as { error: { exitCode: number } }).error.exitCode, ExitCode.credentials);
    for (const r of [run, json]) {
      const all = `${r.stdout}${r.stderr}`;
      assert.ok(!all.includes('not-the-password-123') && !all.includes(es.password ?? '???'), all);
    }
  });

  it('no credentials at all: exit 5 as well', async () => {
    const run = await runCli(['elasticsearch', 'list'], { STACKBACKUP_ES_URL: es.url });
    assert.equal(run.code, ExitCode.credentials, run.stderr);
  });
});
