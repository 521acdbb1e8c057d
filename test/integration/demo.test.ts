/**
 * The README's first command, as a new user runs it: `./scripts/demo.sh`, verbatim, in a fresh clone
 * of this repository, with no arguments, the default work folder, and none of the test run's own
 * environment (no STACKBACKUP_* variables, no tools folder on PATH). The clone sits below a folder only
 * its owner may enter (mkdtemp makes it 0700, as root's home folder usually is), so the demo's
 * Elasticsearch, which runs as nobody when the demo runs as root, has to manage on its own. Run twice:
 * the first run installs what the demo uses into the clone's own .cache/, the second only checks.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, TOOLS_DIR, tempDir } from '../servers/harness.js';

let parent: string;
let clone: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** The user's environment: this process's, less what the test runner and the test scripts add. */
function userEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('STACKBACKUP_') && !k.startsWith('NODE_TEST')) env[k] = v;
  }
  const toolBins = [join(TOOLS_DIR, 'bin'), join(REPO_ROOT, '.cache', 'tools', 'bin')];
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((p) => p !== '' && !toolBins.includes(p))
    .join(delimiter);
  return env;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  const started = Date.now();
  const child = spawn(command, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 })),
  );
}

function assertSummary(demo: Run): void {
  const summary = demo.stdout.slice(demo.stdout.indexOf('=== What the demo did'));
  assert.match(summary, /^=== What the demo did/, `no summary; exit ${demo.code}\n${demo.stderr.slice(-3000)}`);
  assert.match(
    summary,
    /\n- storage: backed up 32\.0 MiB as demo-backup-\d{8}-\d{6}\.tar in .*\.stackbackup\/storage.*identical/,
  );
  assert.match(summary, /\n- stackgraph: exported \d+ elements as sts-backup-\d{8}-\d{4}\.graph .* replaced with it/);
  assert.match(
    summary,
    /\n- victoria-metrics: backed up victoria-metrics-0 into victoria-metrics-0-\d{14} .* read back equal/,
  );
  assert.match(summary, /\n- elasticsearch: snapshot sts-backup-\S+ of 2000 documents .* replaced with -force/);
  assert.match(summary, /\n- volumes: backed up 23 files \(1\.0 MiB\) of claim-demo with restic .* identical/);
}

before(async () => {
  parent = await tempDir('demo-clone');
  clone = join(parent, 'stackbackup');
  const cloned = await run('git', ['clone', '--quiet', REPO_ROOT, clone], parent);
  assert.equal(cloned.code, 0, cloned.stderr);
});
after(async () => {
  await rm(parent, { recursive: true, force: true });
});

describe('./scripts/demo.sh on a fresh clone (the README Quick start, verbatim)', { timeout: 30 * 60_000 }, () => {
  it('works the first time, installing only what the demo uses', async () => {
    const demo = await run('./scripts/demo.sh', [], clone);
    console.log(`first ./scripts/demo.sh in a fresh clone: exit ${demo.code} after ${demo.seconds.toFixed(1)} s`);
    assertSummary(demo);
    assert.equal(demo.code, 0, demo.stderr.slice(-3000));
    // Only what the demo runs: no control plane, Helm or gateways were built for it.
    const stamps = (await readdir(join(clone, '.cache', 'tools', 'stamps'))).sort();
    assert.deepEqual(stamps, ['elasticsearch', 'restic', 'victoria-metrics']);
  });

  it('works again, only checking what is installed', async () => {
    const demo = await run('./scripts/demo.sh', [], clone);
    console.log(`second ./scripts/demo.sh: exit ${demo.code} after ${demo.seconds.toFixed(1)} s`);
    assertSummary(demo);
    assert.equal(demo.code, 0, demo.stderr.slice(-3000));
    assert.doesNotMatch(
      demo.stderr,
      /^\[install\] (fetching|building|installing)/m,
      'the second run installed something again',
    );
  });
});
