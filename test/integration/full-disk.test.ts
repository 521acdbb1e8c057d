/**
 * A full disk, for real: a 2 MiB tmpfs (the tests run as root, as CI does). Downloading or storing a
 * backup that does not fit fails with exit 9 and leaves nothing that looks like a backup.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { FilesystemStore } from '../../src/storage/filesystem.js';
import { downloadFile, listBackups, uploadFile } from '../../src/storage/publish.js';
import { StackbackupError } from '../../src/util/errors.js';
import { tempDir } from '../servers/harness.js';

let tiny: string;
let roomy: string;

before(async () => {
  tiny = await tempDir('tiny');
  roomy = await tempDir('roomy');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tiny]);
  } catch (err) {
    throw new Error(`this test mounts a 2 MiB tmpfs and needs root (CI runs as root): ${String(err)}`);
  }
});
after(async () => {
  execFileSync('umount', [tiny]);
  await rm(tiny, { recursive: true, force: true });
  await rm(roomy, { recursive: true, force: true });
});

const quiet = { progress: () => undefined };
const noSpace = (e: unknown): boolean =>
  e instanceof StackbackupError &&
  e.exitCode === 9 &&
  /no space left/.test(e.message) &&
  /nothing was published/i.test(e.hint ?? '');

it('restoring a backup onto a full disk fails with exit 9 and leaves no partial file', async () => {
  const store = new FilesystemStore(roomy, 'backups');
  await store.createBucket();
  const source = join(roomy, 'big.graph');
  await writeFile(source, randomBytes(4 * 1024 * 1024));
  await uploadFile(store, source, 'sts-backup-20260101-0300.graph', quiet);
  await assert.rejects(
    downloadFile(store, 'sts-backup-20260101-0300.graph', join(tiny, 'restore.graph'), quiet),
    noSpace,
  );
  assert.deepEqual(await readdir(tiny), []);
});

it('backing up into a full storage folder fails with exit 9 and publishes nothing', async () => {
  await mkdir(join(tiny, 'store'));
  const store = new FilesystemStore(join(tiny, 'store'), 'backups');
  await store.createBucket();
  const source = join(roomy, 'big2.graph');
  await writeFile(source, randomBytes(4 * 1024 * 1024));
  await assert.rejects(uploadFile(store, source, 'sts-backup-20260101-0400.graph', quiet), noSpace);
  assert.deepEqual(await listBackups(store), []);
  assert.equal(existsSync(join(tiny, 'store', 'backups', 'sts-backup-20260101-0400.graph')), false);
  assert.deepEqual(await readdir(join(tiny, 'store', 'backups', '.incomplete')), [], 'the temporary file is removed');
});
