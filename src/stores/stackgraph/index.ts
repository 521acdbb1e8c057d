/**
 * StackGraph (configuration and topology): scheduled full exports, one `sts-backup-YYYYMMDD-HHMM.graph`
 * object each, time-based retention with a minimum count, list, and restore that refuses a non-empty
 * store unless -force. The verbs: backup, list, restore, prune; each validate() then run().
 */
export {
  validateBackup,
  runBackup,
  type BackupOptions,
  type BackupResult,
  type ExportSource,
  EXPORT_FILE_NAME,
} from './backup.js';
export { validateList, runList, type ListOptions, type ListResult, type StackGraphBackup } from './list.js';
export { validatePrune, runPrune, type PruneOptions, type PruneResult } from './prune.js';
export {
  validateRestore,
  runRestore,
  restoreCommand,
  type RestoreOptions,
  type RestoreResult,
  type EmptinessCheck,
  type RestoreTarget,
} from './restore.js';
export {
  DEFAULT_BUCKET,
  DEFAULT_RETENTION,
  DEFAULT_MIN_COUNT,
  DEFAULT_FORCE_FLAG,
  VALUES,
  FILE_PLACEHOLDER,
} from './settings.js';
export { stackGraphBackupList, stackGraphPruneReport, STACKGRAPH_TARGET } from './report.js';
export { stackGraphStore } from './store.js';
export { validateDrill, runDrill, type DrillOptions, SCRATCH_PLACEHOLDER } from './drill.js';
