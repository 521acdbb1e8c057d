/** `stackbackup victoria-metrics <verb>`: backup, list, restore, prune (filled in by issue 6). */
import type { Argv } from 'yargs';
import type { Exec } from './context.js';

export function registerVictoriaMetrics(yargs: Argv, _exec: Exec): Argv {
  return yargs;
}
