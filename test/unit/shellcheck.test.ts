/** Every bash script the project ships passes ShellCheck (pinned by scripts/install/shellcheck.sh). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT, toolPath } from '../servers/harness.js';

function scripts(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? scripts(full) : name.endsWith('.sh') ? [full] : [];
  });
}

it('restore/, scripts/ and .ci scripts are shellcheck clean', () => {
  const files = [
    ...scripts(join(REPO_ROOT, 'restore')),
    ...scripts(join(REPO_ROOT, 'scripts')),
    join(REPO_ROOT, '.ci', 'run'),
  ];
  assert.ok(files.length >= 10, `found ${files.length} scripts`);
  const res = spawnSync(toolPath('shellcheck', 'shellcheck'), ['-x', '-S', 'warning', ...files], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(
    res.status,
    0,
    `shellcheck findings in ${files.map((f) => relative(REPO_ROOT, f)).length} files:\n${res.stdout}${res.stderr}`,
  );
});
