/**
 * util/exec.ts reports a failed program as a typed ProgramFailure (program, exit code), and callers
 * decide on those fields, not on our own message texts: restic's exit code 3 means a partial backup.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProgramFailure, run } from '../../src/util/exec.js';
import { ExitCode, isStackbackupError } from '../../src/util/errors.js';
import { classify } from '../../src/stores/volumes/restic.js';

async function failure(program: string, args: string[]): Promise<unknown> {
  try {
    await run(program, args, { logOutput: false });
  } catch (err) {
    return err;
  }
  assert.fail(`${program} did not fail`);
}

describe('external programs (util/exec)', () => {
  it('a non-zero exit is a ProgramFailure carrying the program and its exit code', async () => {
    const err = await failure('sh', ['-c', 'echo "some output"; echo "the reason" >&2; exit 3']);
    assert.ok(isProgramFailure(err));
    assert.equal(err.program, 'sh');
    assert.equal(err.programExitCode, 3);
    assert.match(err.message, /exited with code 3:\nthe reason/);
  });

  it('restic failures are told apart by exit code (3: partial), whatever the message says', async () => {
    assert.equal(classify(await failure('sh', ['-c', 'exit 3'])), 'partial');
    assert.equal(classify(await failure('sh', ['-c', 'echo "exited with code 3" >&2; exit 1'])), 'other');
    assert.equal(
      classify(await failure('sh', ['-c', 'echo "Fatal: wrong password or no key found" >&2; exit 1'])),
      'password',
    );
  });

  it('a missing program is not a ProgramFailure: exit code "not found" and a hint', async () => {
    const err = await failure('stackbackup-no-such-program', []);
    assert.ok(isStackbackupError(err) && !isProgramFailure(err));
    assert.equal(err.exitCode, ExitCode.notFound);
  });

  it('exit codes a caller proves itself come back as results', async () => {
    const result = await run('sh', ['-c', 'exit 2'], { logOutput: false, returnExitCodes: [2] });
    assert.equal(result.exitCode, 2);
  });
});
