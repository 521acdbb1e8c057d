/** What every store's `drill` command shares: the result table and the --scratch-dir option. */
import { DEFAULT_SCRATCH_DIR } from '../stores/drill.js';
import type { DrillRecord } from '../stores/records.js';
import { formatBytes, formatSeconds } from '../util/format.js';
import { renderTable } from './output.js';

export function drillText(r: DrillRecord): string {
  const rows = r.checks.map((c) => [
    c.name,
    String(c.expected ?? 'not recorded'),
    String(c.found ?? ''),
    c.ok ? 'ok' : 'FAILED',
  ]);
  return [
    renderTable(['CHECK', 'EXPECTED', 'FOUND', 'RESULT'], rows),
    `drill of ${r.target} from ${r.backup}: ${r.outcome}, restored ${formatBytes(r.bytes)} in ${formatSeconds(r.restoreSeconds)}`,
  ].join('\n');
}

export const scratchDirOption = {
  type: 'string',
  default: DEFAULT_SCRATCH_DIR,
  describe: 'where the scratch folder of the drill is made (removed afterwards)',
} as const;

export const shrinkShareOption = {
  type: 'string',
  describe: 'flag a backup under this share of the previous one (default 0.5)',
} as const;
