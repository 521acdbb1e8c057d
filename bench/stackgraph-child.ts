/**
 * One StackGraph backup or restore with our code, as its own process so that its peak RSS is ours alone
 * (the export and import tools run as their own child processes and are not counted).
 * Prints one JSON line: { name, seconds, bytes, maxRssMiB }.
 * Usage: node stackgraph-child.js backup BUCKET DB WORKDIR | restore BUCKET DB WORKDIR NAME
 */
import { DateTime } from 'luxon';
import { loadStorageConfig } from '../src/config/storage.js';
import { runBackup, runRestore, validateBackup, validateRestore } from '../src/stores/stackgraph/index.js';
import { setQuiet } from '../src/util/log.js';

const [verb, bucket = '', db = '', workDir = '', name = ''] = process.argv.slice(2);
const standin = process.env.STACKBACKUP_STACKGRAPH_STANDIN ?? 'sts-graph-standin';
const tool = (...args: string[]) => JSON.stringify([standin, '-db', db, ...args]);
const ctx = { storage: loadStorageConfig(), now: () => DateTime.utc() };
setQuiet(true);
const started = process.hrtime.bigint();
const result =
  verb === 'backup'
    ? await runBackup(
        validateBackup({ bucket, exportCommand: tool('-export'), workDir, retention: 'days=30', minCount: 1 }),
        ctx,
      )
    : await runRestore(
        validateRestore({ bucket, name, countCommand: tool('-count'), importCommand: tool('-import'), workDir }),
        ctx,
      );
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(
  `${JSON.stringify({ name: result.name, seconds, bytes: result.size, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
);
