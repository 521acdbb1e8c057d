/** What every command's run() gets: storage configuration, the printer and a clock (tests pin it). */
import { DateTime } from 'luxon';
import { loadStorageConfig } from '../config/storage.js';
import type { StoreContext } from '../stores/types.js';
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
