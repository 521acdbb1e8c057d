#!/usr/bin/env node
/**
 * The `stackbackup` CLI: `stackbackup <store|storage> <verb>`. Thin: parses arguments with yargs,
 * runs validate() then run(), prints through output.ts and exits with the error's exit code.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitCode, messageOf, usageError, type ExitCodeValue } from '../util/errors.js';
import { STORES } from '../stores/registry.js';
import { text, wholeNumber } from '../config/options.js';
import { LOG_FORMATS, setLogFormat, setQuiet, type LogFormat } from '../util/log.js';
import { defaultContext, type CommandContext, type Exec } from './context.js';
import { documented } from './help.js';
import { GROUPS, type Group } from './groups.js';
import type { DemoOptions } from '../demo/run.js';
import { reportError } from './output.js';

/** The demo's default work folder (relative to where it runs; the demo makes it absolute). */
const DEMO_WORK_DIR = '.stackbackup/demo';

/** The groups argv needs: the one it names, none for demo, all otherwise. */
function groupsFor(argv: readonly string[]): readonly Group[] {
  const command = argv.find((a) => !a.startsWith('-'));
  if (command === 'demo') return [];
  const named = GROUPS.filter((g) => command !== undefined && g.names.includes(command));
  return named.length > 0 ? named : GROUPS;
}

/**
 * --log-format (read before yargs, so that every line of the run has it), else STACKBACKUP_LOG_FORMAT
 * (the chart's logFormat value), else text. A blank or unknown value is a usage error.
 */
function logFormatOf(argv: readonly string[]): LogFormat {
  let raw: unknown = process.env.STACKBACKUP_LOG_FORMAT;
  let source = 'STACKBACKUP_LOG_FORMAT';
  if (raw === '') raw = undefined;
  argv.forEach((a, i) => {
    if (a === '--log-format') {
      raw = argv[i + 1] ?? '';
      source = '--log-format';
    } else if (a.startsWith('--log-format=')) {
      raw = a.slice('--log-format='.length);
      source = '--log-format';
    }
  });
  const value = text(raw, source, 'text');
  if (!(LOG_FORMATS as readonly string[]).includes(value))
    throw usageError(`${source} must be "text" or "json", got ${JSON.stringify(value)}`);
  return value as LogFormat;
}

/** The target a backup or restore command names: the store's own, an --instance, a --claim. */
function targetOf(argv: readonly string[], store: string): string | null {
  if (store === 'stackgraph') return 'stackgraph';
  for (const flag of ['--instance', '--claim']) {
    const i = argv.indexOf(flag);
    if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1] ?? null;
    const eq = argv.find((a) => a.startsWith(`${flag}=`));
    if (eq !== undefined) return eq.slice(flag.length + 1);
  }
  return null;
}

/** A failed `<store> backup`, `restore` or `drill` sends its event to the webhook, when one is configured. */
async function notifyFailure(
  argv: readonly string[],
  err: unknown,
  exitCode: ExitCodeValue,
  json: boolean,
): Promise<void> {
  const [group, verb] = argv.filter((a) => !a.startsWith('-'));
  const store = STORES.find((s) => s.name === group || s.aliases.includes(group ?? ''));
  const kinds = { backup: 'backup_failed', restore: 'restore_failed', drill: 'drill_failed' } as const;
  if (store === undefined || (verb !== 'backup' && verb !== 'restore' && verb !== 'drill')) return;
  if (exitCode === ExitCode.usage) return; // nothing ran
  const { makeEvent, notify, webhookFromEnv } = await import('../health/notify.js');
  let hook;
  try {
    hook = webhookFromEnv();
  } catch (e) {
    reportError(e, { json, debug: false });
    return;
  }
  if (hook === undefined) return;
  await notify(
    hook,
    makeEvent(kinds[verb], {
      store: store.name,
      target: targetOf(argv, store.name),
      message: messageOf(err),
      subject: `stackbackup ${store.name} ${verb}`,
      exitCode,
    }),
  );
}

export interface CliResult {
  exitCode: ExitCodeValue;
}

/** Runs the CLI with argv (without node and script); returns the exit code instead of exiting. */
export async function main(
  argv: readonly string[],
  makeContext: (json: boolean) => CommandContext = defaultContext,
): Promise<ExitCodeValue> {
  const json = argv.includes('--json') || argv.includes('--json=true');
  const debug = argv.includes('--debug');
  try {
    setLogFormat(logFormatOf(argv));
  } catch (err) {
    return reportError(err, { json, debug });
  }
  let exitCode: ExitCodeValue = ExitCode.ok;
  const exec: Exec = async (validate, run) => {
    try {
      const options = validate();
      await run(options, makeContext(json));
    } catch (err) {
      exitCode = reportError(err, { json, debug });
      await notifyFailure(argv, err, exitCode, json);
    }
  };
  const cli: Argv = yargs([...argv])
    .scriptName('stackbackup')
    .usage('$0 <command> [options]\n\nBackup and restore for StackGraph, Victoria Metrics, Elasticsearch and volumes.')
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output (and errors)' })
    .option('debug', { type: 'boolean', default: false, describe: 'show stack traces' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress or log lines' })
    .option('log-format', {
      type: 'string',
      choices: LOG_FORMATS,
      describe: 'log lines as text, or one JSON object a line (default: STACKBACKUP_LOG_FORMAT, else text)',
    })
    .middleware((a) => setQuiet(a.quiet === true))
    .command(
      'demo',
      'back up and restore sample data on the local default storage',
      (c) =>
        documented(
          c
            .option('work-dir', { type: 'string', default: DEMO_WORK_DIR })
            .option('size-mib', { type: 'string', default: 32 }),
          'demo',
        ),
      (a) =>
        exec(
          () => {
            return {
              workDir: text(a.workDir, '--work-dir', DEMO_WORK_DIR),
              sizeMiB: wholeNumber(a.sizeMib, '--size-mib', 1, 4096, 32),
            };
          },
          async (o: DemoOptions, ctx) => (await import('../demo/run.js')).runDemo(o, ctx),
        ),
    )
    .demandCommand(1, 'name a command; see stackbackup --help')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? usageError(msg ?? 'invalid command line', 'See stackbackup --help.');
    });
  for (const register of await Promise.all(groupsFor(argv).map((g) => g.load()))) register(cli, exec);
  try {
    await cli.parseAsync();
  } catch (err) {
    exitCode = reportError(err, { json, debug });
  }
  return exitCode;
}

const isEntryPoint = (() => {
  try {
    return (
      process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();

if (isEntryPoint) {
  process.on('SIGINT', () => process.exit(ExitCode.interrupted));
  process.on('SIGTERM', () => process.exit(143));
  main(hideBin(process.argv)).then((code) => {
    process.exitCode = code;
  });
}
