/**
 * Elasticsearch (telemetry): a snapshot repository `sts-backup` in the bucket, snapshots by SLM or by
 * the chart's CronJob (engine cronjob) with SLM's retention semantics, list, and restore of chosen
 * indices that refuses to replace open indices unless -force. Verbs: configure, backup, list, restore,
 * prune; each validate*() (no side effects) then run*(options, ctx), returning data.
 */
export {
  validateConfigure,
  runConfigure,
  repositorySpec,
  type ConfigureOptions,
  type ConfigureResult,
  type Engine,
  type RepositoryChoice,
} from './configure.js';
export { validateBackup, runBackup, type BackupOptions, type BackupResult } from './backup.js';
export { validateList, runList, scanSnapshots, type ListOptions, type ListResult, type Snapshot } from './list.js';
export {
  validateRestore,
  runRestore,
  restoreCommand,
  nameGroups,
  type RestoreOptions,
  type RestoreResult,
  type ForceMode,
} from './restore.js';
export { validateDrill, runDrill, type DrillOptions } from './drill.js';
export { validatePrune, runPrune, type PruneOptions, type PruneResult } from './prune.js';
export { selectIndices, matchesPattern } from './indices.js';
export {
  repositoryRequest,
  policyRequest,
  snapshotRequest,
  restoreRequest,
  type RepositorySpec,
  type PolicySpec,
  type S3RepositoryRequest,
} from './requests.js';
export { connect, type EsClient } from './connection.js';
export {
  DEFAULT_BUCKET,
  DEFAULT_INDICES,
  DEFAULT_SCHEDULE,
  DEFAULT_EXPIRE_AFTER,
  DEFAULT_MIN_COUNT,
  DEFAULT_MAX_COUNT,
  DEFAULT_TIMEOUT_SECONDS,
  VALUES,
  CONNECTION_ENV,
  parseConnection,
  parseIndexPatterns,
  parseRetention,
  type Connection,
} from './settings.js';
export { elasticsearchBackupList, elasticsearchPruneReport } from './report.js';
export { elasticsearchStore } from './store.js';
