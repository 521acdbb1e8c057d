/**
 * `stackbackup storage <verb>`: check, init, ls, upload, download, cleanup. Each verb: typed options,
 * validate() (no side effects), run().
 */
import type { Argv } from 'yargs';
import { checkName } from '../config/names.js';
import { parseTimedelta } from '../config/durations.js';
import { describeConfig } from '../config/storage.js';
import { formatBytes } from '../util/format.js';
import { usageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { assertAllExist, checkBuckets, type BucketCheck } from '../storage/check.js';
import { ensureBucket, openStore } from '../storage/open.js';
import {
  deleteBackups,
  downloadFile,
  listBackups,
  uploadFile,
  type BackupObject,
  type TransferResult,
} from '../storage/publish.js';
import type { CommandContext, Exec } from './context.js';
import { documented } from './help.js';
import { renderTable } from './output.js';

export interface BucketsOptions {
  buckets: string[];
}

export function validateBuckets(raw: { bucket?: unknown }): BucketsOptions {
  const list = (Array.isArray(raw.bucket) ? raw.bucket : raw.bucket === undefined ? [] : [raw.bucket]).map(String);
  if (list.length === 0) throw usageError('no bucket given', 'Pass --bucket NAME (repeat it for several buckets).');
  return { buckets: list.map((b) => checkName('bucket', b, '--bucket')) };
}

export async function runCheck(options: BucketsOptions, ctx: CommandContext): Promise<BucketCheck[]> {
  const results = await checkBuckets(options.buckets.map((b) => openStore(ctx.storage, b)));
  ctx.printer.result(results, (rs) =>
    [
      `endpoint ${describeConfig(ctx.storage)}: reachable, credentials accepted`,
      renderTable(
        ['BUCKET', 'STATUS'],
        rs.map((r) => [r.bucket, r.exists ? 'ok' : 'MISSING']),
      ),
    ].join('\n'),
  );
  assertAllExist(results);
  return results;
}

export async function runInit(options: BucketsOptions, ctx: CommandContext): Promise<BucketCheck[]> {
  const results: BucketCheck[] = [];
  for (const bucket of options.buckets) {
    const store = openStore(ctx.storage, bucket);
    const existed = await store.bucketExists();
    if (!existed) await store.createBucket();
    results.push({ bucket, location: store.location, exists: true });
    log(existed ? `bucket ${bucket} already exists` : `created bucket ${bucket}`);
  }
  ctx.printer.result(results, () => '');
  return results;
}

export interface ListOptions {
  bucket: string;
  prefix: string;
}

export function validateList(raw: { bucket?: unknown; prefix?: unknown }): ListOptions {
  const prefix = raw.prefix === undefined ? '' : String(raw.prefix);
  if (prefix !== '') checkName('objectKey', prefix, '--prefix');
  return { bucket: checkName('bucket', String(raw.bucket ?? ''), '--bucket'), prefix };
}

export async function runList(options: ListOptions, ctx: CommandContext): Promise<BackupObject[]> {
  const store = openStore(ctx.storage, options.bucket);
  await ensureBucket(store, { create: false, bucketValue: 'the bucketName value', scheduleValue: 'scheduled backups' });
  const objects = await listBackups(store, options.prefix);
  ctx.printer.result(
    objects.map((o) => ({
      key: o.key,
      size: o.size,
      lastModified: o.lastModified.toISOString(),
      complete: o.complete,
    })),
    (rows) =>
      renderTable(
        ['NAME', 'SIZE', 'MODIFIED', 'STATE'],
        rows.map((o) => [o.key, formatBytes(o.size), o.lastModified, o.complete ? 'complete' : 'INCOMPLETE']),
      ),
  );
  return objects;
}

export interface TransferOptions {
  bucket: string;
  key: string;
  file: string;
}

export function validateTransfer(raw: { bucket?: unknown; key?: unknown; file?: unknown }): TransferOptions {
  const file = String(raw.file ?? '');
  if (file === '') throw usageError('no local file given');
  return {
    bucket: checkName('bucket', String(raw.bucket ?? ''), '--bucket'),
    key: checkName('objectKey', String(raw.key ?? ''), 'KEY'),
    file,
  };
}

export async function runUpload(options: TransferOptions, ctx: CommandContext): Promise<TransferResult> {
  const store = openStore(ctx.storage, options.bucket);
  await ensureBucket(store, { create: false, bucketValue: 'the bucketName value', scheduleValue: 'scheduled backups' });
  const result = await uploadFile(store, options.file, options.key);
  ctx.printer.result(result, (r) => `uploaded ${r.key}: ${formatBytes(r.size)}, sha256 ${r.sha256}`);
  return result;
}

export async function runDownload(options: TransferOptions, ctx: CommandContext): Promise<TransferResult> {
  const store = openStore(ctx.storage, options.bucket);
  await ensureBucket(store, { create: false, bucketValue: 'the bucketName value', scheduleValue: 'scheduled backups' });
  const result = await downloadFile(store, options.key, options.file);
  ctx.printer.result(result, (r) => `downloaded ${r.key} to ${options.file}: ${formatBytes(r.size)}, sha256 verified`);
  return result;
}

export interface CleanupOptions {
  bucket: string;
  olderThanMs: number;
  dryRun: boolean;
}

export function validateCleanup(raw: { bucket?: unknown; olderThan?: unknown; dryRun?: unknown }): CleanupOptions {
  const olderThan = parseTimedelta(String(raw.olderThan ?? 'hours=24'), '--older-than');
  return {
    bucket: checkName('bucket', String(raw.bucket ?? ''), '--bucket'),
    olderThanMs: olderThan.as('milliseconds'),
    dryRun: raw.dryRun === true,
  };
}

export async function runCleanup(options: CleanupOptions, ctx: CommandContext): Promise<string[]> {
  const store = openStore(ctx.storage, options.bucket);
  await ensureBucket(store, { create: false, bucketValue: 'the bucketName value', scheduleValue: 'scheduled backups' });
  const before = new Date(ctx.now().toMillis() - options.olderThanMs);
  const leftovers = (await listBackups(store)).filter((o) => !o.complete && o.lastModified < before);
  const removed = options.dryRun ? [] : await store.cleanupIncomplete('', before);
  if (!options.dryRun)
    await deleteBackups(
      store,
      leftovers.map((o) => o.key),
    );
  const report = [...removed, ...leftovers.map((o) => `unpublished object ${o.key} (no checksum)`)];
  ctx.printer.result({ dryRun: options.dryRun, removed: report }, (r) =>
    r.removed.length === 0
      ? 'nothing to clean up'
      : r.removed.map((line) => `${r.dryRun ? 'would remove' : 'removed'} ${line}`).join('\n'),
  );
  return report;
}

export function registerStorage(yargs: Argv, exec: Exec): Argv {
  const bucketOpt = { type: 'string', array: true, demandOption: true, describe: 'bucket name (repeatable)' } as const;
  return yargs.command('storage', 'inspect and manage the backup endpoint', (y) =>
    y
      .command(
        'check',
        'check reachability, credentials and buckets',
        (c) => documented(c.option('bucket', bucketOpt), 'storage check'),
        (a) => exec(() => validateBuckets(a), runCheck),
      )
      .command(
        'init',
        'create missing buckets (safe to rerun)',
        (c) => documented(c.option('bucket', bucketOpt), 'storage init'),
        (a) => exec(() => validateBuckets(a), runInit),
      )
      .command(
        'ls',
        'list objects with size, time and completeness',
        (c) =>
          documented(
            c
              .option('bucket', { type: 'string', demandOption: true })
              .option('prefix', { type: 'string', default: '' }),
            'storage ls',
          ),
        (a) => exec(() => validateList(a), runList),
      )
      .command(
        'upload <file> <key>',
        'upload a file with a published SHA-256 checksum',
        (c) =>
          documented(
            c
              .option('bucket', { type: 'string', demandOption: true })
              .positional('file', { type: 'string' })
              .positional('key', { type: 'string' }),
            'storage upload',
          ),
        (a) => exec(() => validateTransfer(a), runUpload),
      )
      .command(
        'download <key> <file>',
        'download an object, verifying its checksum',
        (c) =>
          documented(
            c
              .option('bucket', { type: 'string', demandOption: true })
              .positional('key', { type: 'string' })
              .positional('file', { type: 'string' }),
            'storage download',
          ),
        (a) => exec(() => validateTransfer(a), runDownload),
      )
      .command(
        'cleanup',
        'remove leftovers of cut-off uploads',
        (c) =>
          documented(
            c
              .option('bucket', { type: 'string', demandOption: true })
              .option('older-than', {
                type: 'string',
                default: 'hours=24',
                describe: 'only leftovers older than this (timedelta syntax)',
              })
              .option('dry-run', { type: 'boolean', default: false }),
            'storage cleanup',
          ),
        (a) => exec(() => validateCleanup(a), runCleanup),
      )
      .demandCommand(1, 'name a storage command, e.g. "stackbackup storage check --bucket sts-stackgraph-backup"'),
  );
}
