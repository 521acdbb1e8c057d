/**
 * Volume backup pieces that need no repository: restic's --json messages turned into progress lines
 * (real message lines of restic 0.14 and 0.18), output lines handed to a per-line callback by the exec
 * wrapper (a real child process), and per-claim retention overrides.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResticOutput } from '../../src/stores/volumes/restic.js';
import { parseClaimRetention, retentionFor, DEFAULT_RETENTION } from '../../src/stores/volumes/settings.js';
import { run, type OutputStream } from '../../src/util/exec.js';
import { StackbackupError } from '../../src/util/errors.js';
import { setLogSink } from '../../src/util/log.js';
import { clearSecrets, registerSecret } from '../../src/util/redact.js';

const logs: string[] = [];
let restoreSink: (() => void) | undefined;
before(() => {
  const previous = setLogSink((line) => logs.push(line));
  restoreSink = () => setLogSink(previous);
});
after(() => restoreSink?.());

const MIB = 1024 * 1024;

describe("restic's --json output as progress lines", () => {
  it('backup status messages (restic 0.14) give bytes, total, percentage and ETA; the summary is kept; status lines are dropped', () => {
    logs.length = 0;
    const out = new ResticOutput('claim claim-alice: backup', 0);
    const kept = [
      '{"message_type":"status","percent_done":0,"total_files":3,"total_bytes":0,"current_files":["/a"]}',
      `{"message_type":"status","seconds_elapsed":2,"percent_done":0.25,"total_files":3,"files_done":1,"total_bytes":${400 * MIB},"bytes_done":${100 * MIB},"current_files":["/big"]}`,
      '{"message_type":"summary","files_new":3,"files_changed":0,"files_unmodified":0,"data_added":209715200,"total_bytes_processed":419430400,"total_duration":8.1,"snapshot_id":"68be3404"}',
    ].map(out.onLine);
    assert.deepEqual(kept, [false, false, true]);
    assert.equal(logs.length, 1, logs.join('\n'));
    assert.match(
      logs[0] ?? '',
      /^claim claim-alice: backup: 100\.0 MiB of 400\.0 MiB \(25\.0%\) at [0-9.]+ \S+\/s, ETA \d+s$/,
    );
    assert.equal(out.summary?.snapshot_id, '68be3404');
    out.progress.update(400 * MIB);
    assert.equal(out.progress.finish().done, true);
    assert.match(logs.at(-1) ?? '', /^claim claim-alice: backup: 400\.0 MiB in \d+s \(/);
  });

  it('restore status messages (restic 0.16+) drive the same model; errors and plain lines are logged', () => {
    logs.length = 0;
    const out = new ResticOutput('claim claim-bob: restore', 0);
    out.onLine(
      `{"message_type":"status","seconds_elapsed":1,"percent_done":0.5,"total_files":10,"files_restored":5,"total_bytes":${2 * MIB},"bytes_restored":${MIB}}`,
    );
    out.onLine(
      '{"message_type":"error","error":{"message":"lstat /volumes/claim-bob/gone: no such file or directory"},"during":"archival","item":"/gone"}',
    );
    out.onLine('restoring <Snapshot 68be3404 of [/volumes/claim-bob]> to /volumes/restore-target');
    assert.match(logs[0] ?? '', /^claim claim-bob: restore: 1\.0 MiB of 2\.0 MiB \(50\.0%\)/);
    assert.equal(logs[1], 'WARNING: restic: archival /gone: lstat /volumes/claim-bob/gone: no such file or directory');
    assert.equal(logs[2], 'restoring <Snapshot 68be3404 of [/volumes/claim-bob]> to /volumes/restore-target');
  });

  it('reports at most once per interval', () => {
    logs.length = 0;
    const out = new ResticOutput('claim x: backup', 60_000);
    for (let i = 1; i <= 100; i += 1)
      out.onLine(`{"message_type":"status","total_bytes":${100 * MIB},"bytes_done":${i * MIB}}`);
    assert.equal(logs.length, 0);
  });
});

describe('exec: the per-line callback', () => {
  it('gets every line of both streams, redacted, and can leave lines out of the result', async () => {
    registerSecret('hunter2-secret');
    const seen: [string, OutputStream][] = [];
    const script =
      "console.log('keep 1'); console.log('drop me'); console.error('err hunter2-secret'); console.log('keep 2')";
    const r = await run(process.execPath, ['-e', script], {
      logOutput: false,
      onLine: (line, stream) => (seen.push([line, stream]), !line.startsWith('drop')),
    });
    clearSecrets();
    assert.deepEqual(
      seen.filter(([, s]) => s === 'stdout').map(([l]) => l),
      ['keep 1', 'drop me', 'keep 2'],
    );
    assert.deepEqual(
      seen.filter(([, s]) => s === 'stderr'),
      [['err ***', 'stderr']],
    );
    assert.equal(r.stdout, 'keep 1\nkeep 2');
  });

  it('still logs lines and fails with the output tail when the program fails', async () => {
    logs.length = 0;
    const seen: string[] = [];
    await assert.rejects(
      run(process.execPath, ['-e', "console.log('working'); console.error('broke'); process.exit(4)"], {
        onLine: (line) => void seen.push(line),
      }),
      (err: unknown) => err instanceof StackbackupError && /exited with code 4:\nbroke/.test(err.message),
    );
    assert.deepEqual(seen.sort(), ['broke', 'working']);
    assert.deepEqual(logs.sort(), ['broke', 'working']);
  });
});

describe('per-claim retention overrides', () => {
  it('parses CLAIM:RULE=N entries and changes only the named rules of the named claim', () => {
    const overrides = parseClaimRetention(['claim-alice:keepDaily=30,keepMonthly=12', 'claim-bob:keepLast=1']);
    assert.deepEqual(retentionFor('claim-alice', DEFAULT_RETENTION, overrides), {
      ...DEFAULT_RETENTION,
      keepDaily: 30,
      keepMonthly: 12,
    });
    assert.deepEqual(retentionFor('claim-bob', DEFAULT_RETENTION, overrides), { ...DEFAULT_RETENTION, keepLast: 1 });
    assert.equal(retentionFor('claim-carol', DEFAULT_RETENTION, overrides), DEFAULT_RETENTION);
    assert.equal(parseClaimRetention(undefined).size, 0);
  });

  it('refuses malformed entries, unknown rules, a claim named twice and a policy that keeps nothing', () => {
    const usage = (f: () => unknown, re: RegExp) =>
      assert.throws(f, (err: unknown) => err instanceof StackbackupError && err.exitCode === 2 && re.test(err.message));
    usage(() => parseClaimRetention('claim-alice'), /CLAIM:RULE=N/);
    usage(() => parseClaimRetention('claim-alice:keepForever=3'), /RULE one of keepLast/);
    usage(() => parseClaimRetention('Claim_A:keepLast=3'), /invalid claim name/);
    usage(() => parseClaimRetention('claim-alice:keepLast=-1'), /whole number/);
    usage(() => parseClaimRetention(['claim-alice:keepLast=1', 'claim-alice:keepDaily=2']), /twice/);
    const none = parseClaimRetention('claim-alice:keepLast=0,keepDaily=0,keepWeekly=0,keepMonthly=0');
    usage(() => retentionFor('claim-alice', DEFAULT_RETENTION, none), /claim claim-alice keeps nothing/);
  });
});
