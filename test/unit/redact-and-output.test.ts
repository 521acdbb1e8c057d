import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makePrinter, renderTable, reportError } from '../../src/cli/output.js';
import { StackbackupError } from '../../src/util/errors.js';
import { formatProgress, Progress, type ProgressSnapshot } from '../../src/util/progress.js';
import { clearSecrets, redact, registerSecret } from '../../src/util/redact.js';

describe('redaction', () => {
  it('masks registered secrets and credentials in URLs and signatures', () => {
    registerSecret('sup3rs3cretkey');
    assert.equal(redact('key=sup3rs3cretkey!'), 'key=***!');
    assert.equal(redact('http://user:pa55word@host:9000/x'), 'http://user:***@host:9000/x');
    assert.match(redact('X-Amz-Signature=abcdef0123&x=1'), /X-Amz-Signature=\*\*\*&x=1/);
    clearSecrets();
  });
  it('errors printed for users pass through redaction, also as JSON', () => {
    registerSecret('anothersecret99');
    let out = '';
    reportError(
      new StackbackupError('bad anothersecret99', { hint: 'use anothersecret99', exitCode: 5 }),
      { json: false, debug: false },
      (t) => (out += t),
    );
    reportError(
      new StackbackupError('bad anothersecret99', { exitCode: 5 }),
      { json: true, debug: false },
      (t) => (out += t),
    );
    assert.doesNotMatch(out, /anothersecret99/);
    assert.match(out, /Error: bad \*\*\*/);
    assert.equal(JSON.parse(out.split('\n').filter(Boolean).at(-1) ?? '').error.exitCode, 5);
    clearSecrets();
  });
});

describe('output', () => {
  it('aligns tables', () => {
    assert.equal(
      renderTable(
        ['NAME', 'SIZE'],
        [
          ['a', 1],
          ['longer', 22],
        ],
      ),
      'NAME    SIZE\na       1\nlonger  22',
    );
  });
  it('prints JSON under --json and text otherwise', () => {
    let text = '';
    makePrinter(true, (t) => (text += t)).result([{ a: 1 }], () => 'human');
    assert.deepEqual(JSON.parse(text), [{ a: 1 }]);
    text = '';
    makePrinter(false, (t) => (text += t)).result([{ a: 1 }], () => 'human');
    assert.equal(text, 'human\n');
  });
});

describe('progress', () => {
  it('reports bytes, rate and ETA, throttled, plus a final line', () => {
    const seen: ProgressSnapshot[] = [];
    const p = new Progress('upload x', 100, (s) => seen.push(s), 60_000);
    p.add(10);
    p.add(40);
    const last = p.finish();
    assert.equal(seen.length, 1, 'only the final line within the interval');
    assert.equal(last.bytes, 50);
    assert.ok(last.done);
    const mid = formatProgress({ ...last, done: false, etaSeconds: 75 });
    assert.match(mid, /upload x: 50 B of 100 B \(50\.0%\) at .*\/s, ETA 1m15s/);
  });
});
