#!/usr/bin/env node
/**
 * Bundles the CLI for the job image: dist/job/stackbackup.mjs plus one chunk per lazily loaded part
 * (each store's commands, the S3 client, the Elasticsearch and Kubernetes clients, execa), with every
 * dependency inside. Why: a CronJob pays the CLI's start-up on every run, and Node spends it resolving
 * and reading hundreds of small files in node_modules (yargs alone ~150 ms, execa ~170 ms here);
 * from a bundle the same code loads in a fraction of that. The image then needs no node_modules.
 * The tests run this bundle (test/support/cli.ts), so what they check is what the image ships.
 */
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'job');

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { stackbackup: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  // CommonJS dependencies (minio, the Elasticsearch client) call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __stackbackupRequire } from 'node:module'; const require = __stackbackupRequire(import.meta.url);",
  },
  legalComments: 'linked',
  sourcemap: 'linked',
  logLevel: 'warning',
});
