/** What every command's run() gets: storage configuration, the printer and a clock (tests pin it). */
import { DateTime } from 'luxon';
import { loadStorageConfig } from '../config/storage.js';
import type { StoreContext, Verb } from '../stores/types.js';
import { makePrinter, type Printer } from './output.js';

/** A store verb's context plus the printer that only the CLI uses. */
export interface CommandContext extends StoreContext {
  printer: Printer;
}

export function defaultContext(json: boolean): CommandContext {
  return { storage: loadStorageConfig(), printer: makePrinter(json), now: () => DateTime.utc() };
}

/** The options every command accepts. */
export interface GlobalOptions {
  json: boolean;
  debug: boolean;
}

/** Runs one command: validate (no side effects), then run with a context. Provided by main. */
export type Exec = <O>(validate: () => O, run: (options: O, ctx: CommandContext) => Promise<unknown>) => Promise<void>;

/** How a command shows a verb's result: `json` (default: the result itself) under --json, `text` otherwise. */
export interface Shown<T> {
  json?: (result: T) => unknown;
  text: (result: T) => string;
}

/** The handler of a command that runs one store verb: validate, run, show. */
export function runs<Raw, Options, Result>(
  exec: Exec,
  verb: Verb<Raw, Options, Result>,
  shown: Shown<Result>,
): (raw: Raw) => Promise<void> {
  return (raw) =>
    exec(
      () => verb.validate(raw),
      async (options, ctx) => {
        const result = await verb.run(options, ctx);
        ctx.printer.result(shown.json === undefined ? result : shown.json(result), () => shown.text(result));
      },
    );
}
