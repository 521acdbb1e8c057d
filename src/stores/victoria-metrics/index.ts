/**
 * The Victoria Metrics store: incremental vmbackup per instance into versions
 * (`<bucket>/<instance>/<instance>-YYYYMMDDHHMMSS/`), list, restore, prune, and a health check.
 * Verbs: validate*() (no side effects) then run*(options, ctx), returning data.
 */
export { validateBackup, runBackup, type BackupOptions, type BackupResult } from './backup.js';
export { validateList, runList, type ListOptions, type ListedVersion } from './list.js';
export { validateRestore, runRestore, type RestoreOptions, type RestoreResult } from './restore.js';
export { validatePrune, runPrune, type PruneOptions, type PruneResult } from './prune.js';
export { validateDrill, runDrill, type DrillOptions } from './drill.js';
export { validateCheck, runCheck, type CheckOptions, type CheckResult } from './check.js';
export { planVersionRetention, type TierPolicy, type VersionDecision } from './retention.js';
export { decideVersion, type VolumeMarker } from './volume.js';
export { DEFAULT_BUCKET, DEFAULT_KEEP_DAILY, DEFAULT_KEEP_WEEKLY } from './options.js';
export { victoriaMetricsBackupList, victoriaMetricsPruneReport } from './report.js';
export { victoriaMetricsStore } from './store.js';
