/** The StackGraph store as the registry and the CLI see it: its verbs and the shared result views. */
import { verb, type DataStore } from '../types.js';
import { runBackup, validateBackup } from './backup.js';
import { latestDrill, runDrill, validateDrill } from './drill.js';
import { runList, validateList, type ListResult } from './list.js';
import { runPrune, validatePrune, type PruneResult } from './prune.js';
import { stackGraphBackupList, stackGraphPruneReport } from './report.js';
import { runRestore, validateRestore } from './restore.js';

export const stackGraphStore = {
  name: 'stackgraph',
  backup: verb(validateBackup, runBackup),
  list: verb(validateList, runList),
  restore: verb(validateRestore, runRestore),
  prune: verb(validatePrune, runPrune),
  /** Restores the newest backup into a scratch instance and checks it against its record. */
  drill: verb(validateDrill, runDrill),
  backupList: stackGraphBackupList,
  latestDrill,
  pruneReport: stackGraphPruneReport,
} as const satisfies DataStore<ListResult, PruneResult>;
