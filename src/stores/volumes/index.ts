/**
 * Volumes (PersistentVolumeClaims, e.g. JupyterHub home folders): restic backups into one repository
 * per bucket prefix, every snapshot tagged claim=<name> and owner=<user>, retention applied per claim,
 * restores into the same or another claim. Verbs: backup, list, restore, prune, check, dispatch (the
 * chart's scheduler); each validate*() (no side effects) then run*(options, ctx), returning data.
 */
export {
  validateBackup,
  runBackup,
  validateRepository,
  backupArgs,
  type BackupOptions,
  type BackupResult,
} from './backup.js';
export { validateList, runList, type ListOptions, type ListResult, type VolumeSnapshot } from './list.js';
export {
  validateRestore,
  runRestore,
  resolveSnapshot,
  restoreCommand,
  type RestoreOptions,
  type RestoreResult,
} from './restore.js';
export { validatePrune, runPrune, type PruneOptions, type PruneResult } from './prune.js';
export { validateDrill, runDrill, rotateSample, DEFAULT_SAMPLE, type DrillOptions } from './drill.js';
export { validateCheck, runCheck, type CheckOptions, type CheckResult } from './check.js';
export {
  validateDispatch,
  runDispatch,
  fillJob,
  type DispatchOptions,
  type DispatchResult,
  type DispatchedClaim,
} from './dispatch.js';
export { claimHash, staggerOffsetSeconds, parseWindow, planWindow, type PlannedBackup } from './schedule.js';
export { forgetClaim, type ClaimRetention } from './retention.js';
export {
  repositoryOf,
  plainResticCommand,
  snapshots,
  RESTIC,
  type Repository,
  type RepositoryOptions,
} from './restic.js';
export {
  DEFAULT_BUCKET,
  DEFAULT_PREFIX,
  DEFAULT_HOST,
  DEFAULT_OWNER_KEY,
  DEFAULT_RETENTION,
  describeRetention,
  type RetentionPolicy,
} from './settings.js';
export { volumesBackupList, volumesPruneReport } from './report.js';
export { volumesStore } from './store.js';
