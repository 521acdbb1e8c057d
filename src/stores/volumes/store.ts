/** The volumes store as the registry and the CLI see it: its verbs and the shared result views. */
import { verb, type DataStore } from '../types.js';
import { runBackup, validateBackup } from './backup.js';
import { runCheck, validateCheck } from './check.js';
import { runDispatch, validateDispatch } from './dispatch.js';
import { latestDrill, runDrill, validateDrill } from './drill.js';
import { runList, validateList, type ListResult } from './list.js';
import { runPrune, validatePrune, type PruneResult } from './prune.js';
import { volumesBackupList, volumesPruneReport } from './report.js';
import { runRestore, validateRestore } from './restore.js';

export const volumesStore = {
  name: 'volumes',
  backup: verb(validateBackup, runBackup),
  list: verb(validateList, runList),
  restore: verb(validateRestore, runRestore),
  prune: verb(validatePrune, runPrune),
  /** restic check of the repository (the maintenance CronJob). */
  check: verb(validateCheck, runCheck),
  /** Creates each claim's backup Job in the window (the scheduling CronJob). */
  dispatch: verb(validateDispatch, runDispatch),
  /** Restores a rotating sample of claims into a scratch folder, checks them and the repository. */
  drill: verb(validateDrill, runDrill),
  backupList: volumesBackupList,
  latestDrill,
  pruneReport: volumesPruneReport,
} as const satisfies DataStore<ListResult, PruneResult>;
