/**
 * The demo's volumes step: a sample home folder backed up with restic (from PATH, or STACKBACKUP_RESTIC)
 * into a repository on the demo's storage (a folder under the storage root on the default filesystem
 * backend), tagged as a claim and its owner, then its latest snapshot restored into another folder and
 * compared file by file: content, size and mode. The demo repository is recreated on each run, with a
 * fresh random password kept in the demo's work dir.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../storage/open.js';
import { runBackup, runRestore, validateBackup, validateRestore } from '../stores/volumes/index.js';
import { StackbackupError } from '../util/errors.js';
import { formatBytes } from '../util/format.js';
import { log, section } from '../util/log.js';
import type { CommandContext } from '../cli/context.js';
import type { DemoOptions, DemoStepResult } from './run.js';

const BUCKET = 'stackbackup-demo';
const PREFIX = 'volumes-demo';
const CLAIM = 'claim-demo';
const OWNER = 'demo';

/** A small home folder: notebooks, a binary data file, a private key (0600) and a script (0750). */
async function makeSample(dir: string): Promise<void> {
  await mkdir(join(dir, 'notebooks'), { recursive: true });
  await mkdir(join(dir, 'data'), { recursive: true });
  for (let i = 0; i < 20; i += 1)
    await writeFile(join(dir, 'notebooks', `analysis-${i}.ipynb`), `{"cells": [{"source": "print(${i})"}]}\n`);
  await writeFile(join(dir, 'data', 'measurements.bin'), randomBytes(1024 * 1024));
  await writeFile(join(dir, '.ssh-key'), `demo key ${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho analysis\n');
  await chmod(join(dir, 'run.sh'), 0o750);
}

/** Relative path -> "mode size sha256" of every file, and the total bytes. */
async function describe(root: string): Promise<{ entries: Map<string, string>; bytes: number }> {
  const entries = new Map<string, string>();
  let bytes = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(full);
      if (st.isDirectory()) await walk(full, path);
      else {
        const data = await readFile(full);
        bytes += data.length;
        entries.set(
          path,
          `${(st.mode & 0o7777).toString(8)} ${data.length} ${createHash('sha256').update(data).digest('hex')}`,
        );
      }
    }
  };
  await walk(root, '');
  return { entries, bytes };
}

export async function volumesDemoStep(options: DemoOptions, ctx: CommandContext): Promise<DemoStepResult> {
  section('Volumes: restic backup of a sample home folder, restored into another folder');
  const dir = join(options.workDir, 'volumes');
  const home = join(dir, CLAIM);
  const target = join(dir, 'restored');
  await makeSample(home);
  await mkdir(target, { recursive: true });
  const passwordFile = join(dir, 'restic-password');
  await writeFile(passwordFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });

  // A fresh repository each run (the password above is new): remove the previous run's.
  const store = openStore(ctx.storage, BUCKET);
  if (await store.bucketExists()) await store.delete((await store.list(`${PREFIX}/`)).map((o) => o.key));

  const repository = { bucket: BUCKET, prefix: PREFIX, passwordFile };
  const backup = await runBackup(
    validateBackup({ ...repository, claim: CLAIM, path: home, owner: OWNER, prune: false }),
    ctx,
  );
  await runRestore(
    validateRestore({ ...repository, claim: CLAIM, snapshot: 'latest', path: target, targetClaim: 'claim-demo-copy' }),
    ctx,
  );

  const [original, copy] = await Promise.all([describe(home), describe(target)]);
  const differing = [...new Set([...original.entries.keys(), ...copy.entries.keys()])].filter(
    (p) => original.entries.get(p) !== copy.entries.get(p),
  );
  if (differing.length > 0)
    throw new StackbackupError(
      `demo: the restored folder differs from the original in ${differing.slice(0, 5).join(', ')}`,
    );
  log(`restored folder: ${copy.entries.size} files, ${copy.bytes} bytes, equal to the original (content, size, mode)`);
  return {
    step: 'volumes',
    summary:
      `backed up ${original.entries.size} files (${formatBytes(original.bytes)}) of ${CLAIM} with restic as snapshot ${backup.shortId} ` +
      `(tags ${backup.tags.join(',')}) into ${backup.repository}, restored it into another folder: ` +
      `${copy.entries.size} files, ${formatBytes(copy.bytes)}, identical (content and modes)`,
  };
}
