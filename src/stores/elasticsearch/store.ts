/** The Elasticsearch store as the registry and the CLI see it: its verbs and the shared result views. */
import { verb, type DataStore } from '../types.js';
import { runBackup, validateBackup } from './backup.js';
import { runConfigure, validateConfigure } from './configure.js';
import { latestDrill, runDrill, validateDrill } from './drill.js';
import { runList, validateList, type ListResult } from './list.js';
import { runPrune, validatePrune, type PruneResult } from './prune.js';
import { elasticsearchBackupList, elasticsearchPruneReport } from './report.js';
import { runRestore, validateRestore } from './restore.js';

export const elasticsearchStore = {
  name: 'elasticsearch',
  backup: verb(validateBackup, runBackup),
  list: verb(validateList, runList),
  restore: verb(validateRestore, runRestore),
  prune: verb(validatePrune, runPrune),
  /** Registers the snapshot repository and the SLM policy (the chart's configure hook). */
  configure: verb(validateConfigure, runConfigure),
  /** Restores the newest successful snapshot as drill-<index> indices and checks them against its record. */
  drill: verb(validateDrill, runDrill),
  backupList: elasticsearchBackupList,
  latestDrill,
  pruneReport: elasticsearchPruneReport,
} as const satisfies DataStore<ListResult, PruneResult>;
