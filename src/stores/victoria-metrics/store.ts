/** The Victoria Metrics store as the registry and the CLI see it: its verbs and the shared result views. */
import { verb, type DataStore } from '../types.js';
import { runBackup, validateBackup } from './backup.js';
import { runCheck, validateCheck } from './check.js';
import { latestDrill, runDrill, validateDrill } from './drill.js';
import { runList, validateList, type ListedVersion } from './list.js';
import { runPrune, validatePrune, type PruneResult } from './prune.js';
import { victoriaMetricsBackupList, victoriaMetricsPruneReport } from './report.js';
import { runRestore, validateRestore } from './restore.js';

export const victoriaMetricsStore = {
  name: 'victoria-metrics',
  backup: verb(validateBackup, runBackup),
  list: verb(validateList, runList),
  restore: verb(validateRestore, runRestore),
  prune: verb(validatePrune, runPrune),
  /** Waits until an instance answers (the restore's last step). */
  check: verb(validateCheck, runCheck),
  /** Restores the newest complete version into a scratch instance and checks it against its record. */
  drill: verb(validateDrill, runDrill),
  backupList: victoriaMetricsBackupList,
  latestDrill,
  pruneReport: victoriaMetricsPruneReport,
} as const satisfies DataStore<ListedVersion[], PruneResult>;
