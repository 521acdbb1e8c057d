/**
 * One timed transfer with our storage layer, run as its own process so that its peak RSS is ours
 * alone. Prints one JSON line: { seconds, bytes, maxRssMiB }.
 * Usage: node transfer-child.js upload|download BUCKET KEY FILE (storage from STACKBACKUP_* env)
 */
import { loadStorageConfig } from '../src/config/storage.js';
import { openStore } from '../src/storage/open.js';
import { downloadFile, uploadFile } from '../src/storage/publish.js';

const [verb, bucket = '', key = '', file = ''] = process.argv.slice(2);
const store = openStore(loadStorageConfig(), bucket);
const quiet = { progress: () => undefined };
const started = process.hrtime.bigint();
const result =
  verb === 'upload' ? await uploadFile(store, file, key, quiet) : await downloadFile(store, key, file, quiet);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(
  `${JSON.stringify({ seconds, bytes: result.size, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
);
