/**
 * What the StackGraph verbs share: defaults (as StackState documents them), the Helm values that name
 * each setting (for messages), strict parsing of the bucket, retention and tool commands, and the
 * bucket opening every verb starts with.
 */
import type { Duration } from 'luxon';
import { checkName } from '../../config/names.js';
import { parseTimedelta } from '../../config/durations.js';
import { text as optionText, wholeNumber } from '../../config/options.js';
import type { StorageConfig } from '../../config/storage.js';
import { usageError } from '../../util/errors.js';
import { ensureBucket, openStore } from '../../storage/open.js';
import type { ObjectStore } from '../../storage/types.js';

export const DEFAULT_BUCKET = 'sts-stackgraph-backup';
export const DEFAULT_RETENTION = 'days=30';
/** Complete backups kept whatever their age, so that a month of failed exports cannot empty the bucket. */
export const DEFAULT_MIN_COUNT = 3;
/** What StackState's import tool takes to replace a non-empty store. */
export const DEFAULT_FORCE_FLAG = '-force';

/** The Helm values behind each setting, named in messages so that the operator knows what to change. */
export const VALUES = {
  bucket: 'backup.stackGraph.bucketName',
  scheduled: 'backup.stackGraph.scheduled.enabled',
  retention: 'backup.stackGraph.scheduled.backupRetentionTimeDelta',
  minCount: 'backup.stackGraph.scheduled.backupRetentionMinCount',
  exportCommand: 'backup.stackGraph.tool.exportCommand',
  importCommand: 'backup.stackGraph.tool.importCommand',
  countCommand: 'backup.stackGraph.tool.countCommand',
} as const;

export interface RetentionSettings {
  /** As given, for messages: `days=30`. */
  text: string;
  maxAge: Duration;
  minCount: number;
}

export function parseBucket(raw: unknown): string {
  return checkName(
    'bucket',
    optionText(raw, `--bucket (${VALUES.bucket})`, DEFAULT_BUCKET),
    `--bucket (${VALUES.bucket})`,
  );
}

export function parseRetention(rawText: unknown, rawMinCount: unknown): RetentionSettings {
  const source = `--retention (${VALUES.retention})`;
  const text = optionText(rawText, source, DEFAULT_RETENTION);
  // Without its zero units, so that messages read "older than 30 days".
  const maxAge = parseTimedelta(text, source).removeZeros();
  const minCount = wholeNumber(rawMinCount, `--min-count (${VALUES.minCount})`, 1, 10_000, DEFAULT_MIN_COUNT);
  return { text, maxAge, minCount };
}

/** Where a tool command puts the file it exports or imports: `{file}`, or appended when absent. */
export const FILE_PLACEHOLDER = '{file}';

/**
 * A tool command as an argument array: a JSON array of strings (`["stackstate-server","-export"]`, what
 * the chart renders) or words separated by spaces (no shell quoting: nothing is ever run by a shell).
 */
export function parseCommand(raw: unknown, option: string): string[] {
  const text = String(raw ?? '').trim();
  if (text === '') throw usageError(`${option} is empty; give the program and its arguments`);
  let words: unknown;
  if (text.startsWith('[')) {
    try {
      words = JSON.parse(text);
    } catch {
      throw usageError(
        `${option} ${JSON.stringify(text)} is not a JSON array of strings`,
        'Use for example ["sts-graph-standin","-export"].',
      );
    }
  } else {
    words = text.split(/\s+/);
  }
  if (!Array.isArray(words) || words.length === 0 || !words.every((w) => typeof w === 'string' && w !== '')) {
    throw usageError(`${option} ${JSON.stringify(text)} must be a non-empty list of non-empty strings`);
  }
  return words as string[];
}

/** The command with the file in place of `{file}`, or appended. */
export function withFile(command: readonly string[], file: string): string[] {
  const placed = command.some((w) => w.includes(FILE_PLACEHOLDER));
  return placed ? command.map((w) => w.split(FILE_PLACEHOLDER).join(file)) : [...command, file];
}

/** Opens the bucket; only scheduled backups may create it (a restore must not invent an empty one). */
export async function openBucket(storage: StorageConfig, bucket: string, create: boolean): Promise<ObjectStore> {
  const store = openStore(storage, bucket);
  await ensureBucket(store, { create, bucketValue: VALUES.bucket, scheduleValue: VALUES.scheduled });
  return store;
}
