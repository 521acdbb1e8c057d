/**
 * The demo's StackGraph step, with the stand-in store (sts-graph-standin from PATH, or
 * STACKBACKUP_STACKGRAPH_STANDIN): a graph is seeded, exported and backed up, listed, restored into an
 * empty store with the same content, refused by a non-empty store without -force, then restored there
 * with -force.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../storage/open.js';
import { deleteBackups } from '../storage/publish.js';
import { stackGraphBackupName } from '../storage/layout.js';
import {
  runBackup,
  runList,
  runRestore,
  validateBackup,
  validateList,
  validateRestore,
} from '../stores/stackgraph/index.js';
import { ExitCode, StackbackupError, isStackbackupError } from '../util/errors.js';
import { run } from '../util/exec.js';
import { formatBytes } from '../util/format.js';
import { log, section } from '../util/log.js';
import type { CommandContext } from '../cli/context.js';
import type { DemoOptions, DemoStepResult } from './run.js';

const STANDIN = process.env.STACKBACKUP_STACKGRAPH_STANDIN ?? 'sts-graph-standin';
const BUCKET = 'stackbackup-demo';

export async function stackGraphDemoStep(options: DemoOptions, ctx: CommandContext): Promise<DemoStepResult> {
  const dir = join(options.workDir, 'stackgraph');
  await mkdir(dir, { recursive: true });
  const source = join(dir, 'source.db');
  const tool = (db: string, ...args: string[]) => JSON.stringify([STANDIN, '-db', db, ...args]);
  const digest = async (db: string) => (await run(STANDIN, ['-db', db, '-digest'], { logOutput: false })).stdout.trim();

  section(`StackGraph: seeding a stand-in graph store (${STANDIN}, SQLite)`);
  await run(STANDIN, ['-db', source, '-seed', '2000', '-payload', '256']);
  const sourceDigest = await digest(source);

  // The demo's bucket may hold this minute's backup from an earlier run: replace it.
  const bucket = openStore(ctx.storage, BUCKET);
  if (await bucket.bucketExists()) await deleteBackups(bucket, [stackGraphBackupName(ctx.now())]);
  const backup = await runBackup(
    validateBackup({ bucket: BUCKET, exportCommand: tool(source, '-export'), workDir: dir }),
    ctx,
  );
  const listed = await runList(validateList({ bucket: BUCKET }), ctx);
  log(`listed: ${listed.backups.map((b) => b.name).join(', ')}`);

  const restore = (db: string, force: boolean) =>
    runRestore(
      validateRestore({
        bucket: BUCKET,
        name: backup.name,
        force,
        countCommand: tool(db, '-count'),
        importCommand: tool(db, '-import'),
        workDir: dir,
      }),
      ctx,
    );
  const empty = join(dir, 'restored.db');
  const restored = await restore(empty, false);
  if ((await digest(empty)) !== sourceDigest)
    throw new StackbackupError('demo: the restored graph differs from the original');

  const busy = join(dir, 'busy.db');
  await run(STANDIN, ['-db', busy, '-seed', '10'], { logOutput: false });
  let refused = false;
  try {
    await restore(busy, false);
  } catch (err) {
    if (!isStackbackupError(err) || err.exitCode !== ExitCode.conflict) throw err;
    refused = true;
    log(`as expected: ${err.message}`);
  }
  if (!refused) throw new StackbackupError('demo: a non-empty store was not refused without -force');
  await restore(busy, true);
  if ((await digest(busy)) !== sourceDigest)
    throw new StackbackupError('demo: the -force restore differs from the original');

  return {
    step: 'stackgraph',
    summary:
      `exported ${restored.elementsAfter ?? '?'} elements as ${backup.name} (${formatBytes(backup.size)}), listed ${listed.backups.length} backup(s), ` +
      'restored into an empty store with the same content, a non-empty store was refused without -force and replaced with it',
  };
}
