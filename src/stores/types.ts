/**
 * What every data store module provides: the same verbs (backup, list, restore, prune), each as typed
 * options -> validate() (no side effects) -> run(options, ctx) returning data. Stores never print and
 * never import each other; src/cli/<store>.ts turns a store's verbs into `stackbackup <store> <verb>`
 * and prints their results.
 */
import type { DateTime } from 'luxon';
import type { StorageConfig } from '../config/storage.js';

export type StoreName = 'stackgraph' | 'victoria-metrics' | 'elasticsearch' | 'volumes';

/** What a store verb's run() gets: where backups go and a clock (tests pin it). */
export interface StoreContext {
  storage: StorageConfig;
  now: () => DateTime;
}
