import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { reportError } from '../../src/cli/output.js';
import { formatLine, log, setLogFormat, setLogSink, warn } from '../../src/util/log.js';
import { clearSecrets, registerSecret } from '../../src/util/redact.js';
import { usageError } from '../../src/util/errors.js';

afterEach(() => {
  setLogFormat('text');
  clearSecrets();
});

describe('--log-format json', () => {
  it('one JSON object a line with time, level and msg; text stays as it was', () => {
    assert.equal(formatLine('info', 'uploaded x'), 'uploaded x');
    assert.equal(formatLine('warning', 'slow'), 'WARNING: slow');
    setLogFormat('json');
    const line = formatLine('warning', 'slow\nsecond line "quoted"', new Date('2026-01-01T03:00:00Z'));
    assert.equal(line.includes('\n'), false);
    assert.deepEqual(JSON.parse(line), {
      time: '2026-01-01T03:00:00.000Z',
      level: 'warning',
      msg: 'slow\nsecond line "quoted"',
    });
  });

  it('redacts registered secrets and credentials in URLs the same way', () => {
    registerSecret('s3cr3t-value-123');
    setLogFormat('json');
    const lines: string[] = [];
    const previous = setLogSink((l) => lines.push(l));
    try {
      log('connecting with s3cr3t-value-123 to http://user:pa55word@host:9000/');
      warn('authorization: Bearer abcdefgh');
    } finally {
      setLogSink(previous);
    }
    const joined = lines.join('\n');
    assert.ok(!joined.includes('s3cr3t-value-123'));
    assert.ok(!joined.includes('pa55word'));
    assert.ok(!joined.includes('abcdefgh'));
    assert.equal((JSON.parse(lines[0] ?? '') as { level: string }).level, 'info');
    assert.equal((JSON.parse(lines[1] ?? '') as { level: string }).level, 'warning');
  });

  it('errors are one JSON line too (without --json)', () => {
    setLogFormat('json');
    registerSecret('s3cr3t-value-123');
    let out = '';
    const code = reportError(
      usageError('bad s3cr3t-value-123', 'fix it'),
      { json: false, debug: false },
      (t) => (out += t),
    );
    assert.equal(code, 2);
    assert.equal(out.trim().split('\n').length, 1);
    const parsed = JSON.parse(out) as { level: string; msg: string; hint: string; exitCode: number };
    assert.equal(parsed.level, 'error');
    assert.equal(parsed.msg, 'bad ***');
    assert.equal(parsed.hint, 'fix it');
    assert.equal(parsed.exitCode, 2);
  });
});
