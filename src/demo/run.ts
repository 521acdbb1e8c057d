/**
 * `stackbackup demo`: a local walk-through on the embedded default (filesystem backend unless an S3
 * endpoint is configured). Each step backs something up, restores it and says what it did. Store
 * issues add their steps to DEMO_STEPS.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeConfig } from '../config/storage.js';
import { StackbackupError } from '../util/errors.js';
import { formatBytes } from '../util/format.js';
import { section } from '../util/log.js';
import { openStore } from '../storage/open.js';
import { demoBackupName } from '../storage/layout.js';
import { downloadFile, listBackups, uploadFile } from '../storage/publish.js';
import type { CommandContext } from '../cli/context.js';
import { elasticsearchDemoStep } from './elasticsearch.js';
import { stackGraphDemoStep } from './stackgraph.js';
import { victoriaMetricsDemoStep } from './victoria-metrics.js';
import { volumesDemoStep } from './volumes.js';

export interface DemoOptions {
  workDir: string;
  sizeMiB: number;
}

export interface DemoStepResult {
  step: string;
  summary: string;
}

type DemoStep = (options: DemoOptions, ctx: CommandContext) => Promise<DemoStepResult>;

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Storage round trip: upload a file with its checksum, list, download, verify. */
const storageStep: DemoStep = async (options, ctx) => {
  section(`Storage round trip on ${describeConfig(ctx.storage)}`);
  const store = openStore(ctx.storage, 'stackbackup-demo');
  if (!(await store.bucketExists())) await store.createBucket();
  const source = join(options.workDir, 'source.bin');
  const data = randomBytes(options.sizeMiB * 1024 * 1024);
  await writeFile(source, data);
  const key = demoBackupName(ctx.now());
  const up = await uploadFile(store, source, key);
  const listed = (await listBackups(store)).filter((b) => b.key === key && b.complete);
  if (listed.length !== 1) throw new StackbackupError(`demo: ${key} is not listed as a complete backup`);
  const restored = join(options.workDir, 'restored.bin');
  await downloadFile(store, key, restored);
  const same = sha256(await readFile(restored)) === sha256(data);
  if (!same) throw new StackbackupError('demo: the restored file differs from the original');
  return {
    step: 'storage',
    summary: `backed up ${formatBytes(up.size)} as ${key} in ${store.location}, restored it, sha256 ${up.sha256.slice(0, 12)}... identical`,
  };
};

export const DEMO_STEPS: DemoStep[] = [
  storageStep,
  stackGraphDemoStep,
  victoriaMetricsDemoStep,
  elasticsearchDemoStep,
  volumesDemoStep,
];

export async function runDemo(given: DemoOptions, ctx: CommandContext): Promise<DemoStepResult[]> {
  // The default --work-dir is relative to where the demo runs; the steps hand it to programs and
  // options that need absolute paths (restic's --path, vmbackup's fs:// URLs).
  const options = { ...given, workDir: resolve(given.workDir) };
  await rm(options.workDir, { recursive: true, force: true });
  await mkdir(options.workDir, { recursive: true });
  const results: DemoStepResult[] = [];
  for (const step of DEMO_STEPS) results.push(await step(options, ctx));
  ctx.printer.result(results, (rs) =>
    ['', '=== What the demo did', ...rs.map((r) => `- ${r.step}: ${r.summary}`)].join('\n'),
  );
  return results;
}
