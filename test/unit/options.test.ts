import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBlank, listOption, optionalText, text, wholeNumber } from '../../src/config/options.js';
import { isStackbackupError } from '../../src/util/errors.js';

function usage(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => isStackbackupError(err) && err.exitCode === 2 && pattern.test(err.message));
}

describe('option values (config/options)', () => {
  it('a value left out takes the default; one given is kept as given', () => {
    assert.equal(text(undefined, '--retention', 'days=30'), 'days=30');
    assert.equal(text('weeks=2', '--retention', 'days=30'), 'weeks=2');
    assert.equal(optionalText(undefined, '--selector'), undefined);
    assert.equal(wholeNumber(undefined, '--keep-daily', 0, 10, 7), 7);
    assert.equal(wholeNumber('0', '--keep-daily', 0, 10, 7), 0);
    assert.equal(wholeNumber(3, '--keep-daily', 0, 10, 7), 3);
    assert.equal(wholeNumber(' 4 ', '--keep-daily', 0, 10, 7), 4);
    assert.deepEqual(listOption(undefined, '--claim'), []);
    assert.deepEqual(listOption(['a,b', 'c'], '--claim'), ['a', 'b', 'c']);
  });

  for (const blank of ['', ' ', '\t', ['a', ''], [' ']]) {
    it(`refuses the explicitly blank value ${JSON.stringify(blank)} (never the default, never 0)`, () => {
      assert.equal(isBlank(blank), true);
      usage(() => text(blank, '--retention', 'days=30'), /^--retention is empty/);
      usage(() => optionalText(blank, '--selector'), /^--selector is empty/);
      usage(() => wholeNumber(blank, '--keep-daily', 0, 10, 7), /^--keep-daily is empty/);
      usage(() => listOption(blank, '--claim'), /^--claim (is empty|has an empty name)/);
    });
  }

  it('refuses numbers that are not whole or out of range, showing what was given', () => {
    for (const bad of ['1.5', 'abc', '-1', '1e3', '0x10', '11', 'Infinity']) {
      usage(
        () => wholeNumber(bad, '--min-count', 0, 10, 3),
        new RegExp(`--min-count must be a whole number from 0 to 10, got "${bad}"`),
      );
    }
    usage(() => wholeNumber(undefined, '--count', 1, 5), /--count is required/);
  });

  it('says how to get the default back', () => {
    assert.throws(
      () => text('', '--bucket', 'sts-stackgraph-backup'),
      (err: unknown) =>
        isStackbackupError(err) &&
        /leave the option out to use the default \(sts-stackgraph-backup\)/.test(err.hint ?? ''),
    );
  });
});
