/**
 * vmbackup's and vmrestore's shutdown race, reproduced with the real programs (1.79.5): a tiny backup
 * finishes before the metrics listener's goroutine has registered itself, and main's
 * httpserver.Stop() panics ("BUG: there is no http server at ...", exit 2) after the work is done.
 * Hundreds of tiny runs in a row show it happening; the same number through stackbackup all count as
 * completed, each with its proof (summary line and the marker written by that run, or for a restore,
 * the summary line and vmrestore's lock file gone); a real exit 2 and a raced run without its proof
 * still fail.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { confirmCompletion, runBackup } from '../../src/stores/victoria-metrics/backup.js';
import { confirmRestored, runRestore } from '../../src/stores/victoria-metrics/restore.js';
import { hitShutdownRace, runVmbackup, vmbackupArgs } from '../../src/stores/victoria-metrics/vmtools.js';
import type { StoreContext } from '../../src/stores/types.js';
import { run } from '../../src/util/exec.js';
import { setLogSink } from '../../src/util/log.js';
import { tempDir } from '../servers/harness.js';
import {
  flush,
  importSeries,
  makeSeries,
  startVictoriaMetrics,
  victoriaMetricsTools,
  type VictoriaMetricsServer,
} from '../servers/victoria-metrics.js';

const RUNS = 200;
const RESTORES = 100;
const INSTANCE = 'victoria-metrics-0';
const BUCKET = 'race-bucket';
const RACE_LOG = /hit its known shutdown race/;
let vm: VictoriaMetricsServer;
let work: string;
let ctx: StoreContext;
const tools = victoriaMetricsTools();

before(async () => {
  process.env.STACKBACKUP_VMBACKUP = tools.vmbackup;
  process.env.STACKBACKUP_VMRESTORE = tools.vmrestore;
  work = await tempDir('vm-race');
  vm = await startVictoriaMetrics();
  await importSeries(vm.url, makeSeries(3, 10, Date.UTC(2026, 0, 1), 7));
  await flush(vm.url);
  ctx = { storage: { kind: 'filesystem', root: join(work, 'storage') }, now: () => DateTime.utc() };
});

after(async () => {
  await vm?.stop();
  await rm(work, { recursive: true, force: true });
  if (vm !== undefined) await rm(vm.dataDir, { recursive: true, force: true });
});

/** Captures the log lines of fn (stackbackup's log sink). */
async function logged<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  try {
    return { value: await fn(), lines };
  } finally {
    setLogSink(previous);
  }
}

describe('vmbackup/vmrestore shutdown race (real vmbackup 1.79.5)', () => {
  it(`shows up in plain vmbackup runs in a row: exit 2 after a completed backup`, async () => {
    const dst = join(work, 'plain');
    let raced = 0;
    let runs = 0;
    while (runs < RUNS && (raced === 0 || runs < 20)) {
      runs += 1;
      const args = [
        `-storageDataPath=${vm.dataDir}`,
        `-snapshot.createURL=${vm.url}/snapshot/create`,
        `-dst=fs://${dst}`,
        '-httpListenAddr=127.0.0.1:0',
      ];
      const result = await run(tools.vmbackup, args, { logOutput: false, returnExitCodes: [2] });
      if (result.exitCode === 2) {
        raced += 1;
        assert.ok(hitShutdownRace(result), `an exit 2 that is not the race:\n${result.stderr.slice(-2000)}`);
        assert.match(result.stderr + result.stdout, / is complete; backed up \d+ bytes/);
        // The marker is there: vmbackup had finished before it panicked.
        await stat(join(dst, 'backup_complete.ignore'));
      }
    }
    console.log(`plain vmbackup: ${raced} of ${runs} runs exited 2 in the shutdown race`);
    assert.ok(
      raced > 0,
      `the race did not show in ${runs} runs: if this vmbackup fixed it, the workaround in vmtools.ts can go`,
    );
  });

  it(`${RUNS} scheduled backups in a row through stackbackup all complete, races included, and all are listed complete`, async () => {
    let raced = 0;
    const versions = new Set<string>();
    for (let i = 0; i < RUNS; i += 1) {
      const { value, lines } = await logged(() =>
        runBackup(
          {
            instance: INSTANCE,
            bucket: BUCKET,
            url: new URL(vm.url),
            storageDataPath: vm.dataDir,
            maxBytesPerSecond: undefined,
            prune: undefined,
            waitMs: 5000,
          },
          ctx,
        ),
      );
      if (lines.some((l) => RACE_LOG.test(l))) raced += 1;
      assert.ok(value.completedAt !== '', 'completed');
      versions.add(value.version);
    }
    console.log(`stackbackup: ${raced} of ${RUNS} backups hit the race and were proven complete`);
    assert.ok(raced > 0, 'no run hit the race, so this test did not exercise its handling');
    assert.equal(versions.size, 1, 'the hourly runs continue one version');
    const [version] = [...versions];
    await stat(join(work, 'storage', BUCKET, INSTANCE, version ?? '', 'backup_complete.ignore'));
  });

  it(`${RESTORES} restores in a row through stackbackup all complete, any raced one included, and leave no restore lock`, async () => {
    const root = join(work, 'storage', BUCKET, INSTANCE);
    const [version] = await readdir(root);
    assert.ok(version !== undefined);
    // vmrestore hits the race far more rarely than vmbackup (about 1 run in 100 on a loaded machine,
    // none in 100 on a quiet one: it does more before it stops), so this test cannot count on one. It
    // asserts that every restore completes and proves itself whether or not it raced; the proof a raced
    // restore needs (summary line, no restore-in-progress) is asserted case by case in the last test.
    let raced = 0;
    for (let i = 0; i < RESTORES; i += 1) {
      const target = join(work, 'restored', String(i));
      const { value, lines } = await logged(() =>
        runRestore({ instance: INSTANCE, version, bucket: BUCKET, storageDataPath: target, url: undefined }, ctx),
      );
      if (lines.some((l) => RACE_LOG.test(l))) raced += 1;
      assert.ok(value.restoredBytes > 0);
      assert.deepEqual(
        (await readdir(target)).filter((f) => f === 'restore-in-progress'),
        [],
      );
      await rm(target, { recursive: true, force: true });
    }
    console.log(`stackbackup: ${raced} of ${RESTORES} restores hit the race and were proven complete`);
  });

  it('still fails a real exit 2 (a bad flag) and a raced run without its proof', async () => {
    const access = { args: ['-noSuchFlag'], env: {} };
    const args = vmbackupArgs(
      { storageDataPath: vm.dataDir, snapshotCreateUrl: `${vm.url}/snapshot/create`, dst: `fs://${join(work, 'bad')}` },
      access,
    );
    await assert.rejects(runVmbackup(args, access, 'hint'), /vmbackup .* exited with code 2/);

    const summary =
      'backup from src fslocal "x" to dst fsremote "y" with origin fsnil is complete; backed up 657 bytes in 0.001 seconds; deleted 0 bytes; server-side copied 0 bytes; uploaded 657 bytes';
    const now = () => DateTime.utc();
    const noMarker = async () => undefined;
    const marker = async () => ({ lastModified: new Date() });
    assert.equal(
      await confirmCompletion(summary, noMarker, now, true),
      undefined,
      'raced, summary, no marker: not complete',
    );
    assert.equal(
      await confirmCompletion('panic: BUG', marker, now, true),
      undefined,
      'raced, marker, no summary: not complete',
    );
    assert.equal((await confirmCompletion(summary, marker, now, true))?.summary.uploadedBytes, 657);

    const restored = 'restored 1000 bytes from backup in 0.010 seconds; deleted 0 bytes; downloaded 1000 bytes';
    const folder = join(work, 'locked');
    await mkdir(folder, { recursive: true });
    await confirmRestored(restored, folder, 'v');
    await assert.rejects(confirmRestored('panic: BUG', folder, 'v'), /before it had finished \(no summary line\)/);
    await writeFile(join(folder, 'restore-in-progress'), '');
    await assert.rejects(confirmRestored(restored, folder, 'v'), /restore-in-progress is still in/);
  });
});
